"""Roles Anywhere, Identity Center and Pod Identity calls → IdentityChange; session tags."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.intake.events import IdentityChange, IdentityService, RoleEvent
from monitor.intake.normalize import normalize
from monitor.intake.scope import IN_SCOPE, in_scope, may_be_in_scope

PEER = Path(__file__).parent.parent / "fixtures" / "peer-cases"


def peer(stem: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((PEER / f"{stem}.json").read_text())["record"]
    return record


def test_real_stratus_trust_anchor_becomes_a_change_with_a_ca_digest() -> None:
    record = peer("stratus_aws.persistence.rolesanywhere-create-trust-anchor__1")
    change = normalize(record)
    assert isinstance(change, IdentityChange)
    assert change.service is IdentityService.ROLES_ANYWHERE
    assert change.action == "create"
    assert change.detail["name"] == "malicious-rolesanywhere-trust-anchor"
    assert len(change.detail["ca_certificate_sha256"]) == 64
    assert "BEGIN CERTIFICATE" not in json.dumps(asdict(change), default=str)


def test_real_stratus_profile_lists_its_roles() -> None:
    change = normalize(peer("stratus_aws.persistence.rolesanywhere-create-trust-anchor__2"))
    assert isinstance(change, IdentityChange)
    assert change.detail["role_arns"] == [
        "arn:aws:iam::791182566784:role/stratus-red-team-trust-anchor-role"
    ]


def record(source: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "eventSource": source,
        "eventName": name,
        "eventTime": "2026-03-02T09:00:00Z",
        "eventID": "e-1",
        "recipientAccountId": "222222222222",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::222222222222:user/u"},
        **fields,
    }


def test_a_failed_change_changed_nothing() -> None:
    failed = record("sso.amazonaws.com", "CreatePermissionSet", errorCode="AccessDenied")
    assert normalize(failed) is None


def test_an_out_of_scope_call_of_those_services_is_skipped() -> None:
    assert not in_scope(record("eks.amazonaws.com", "DescribeCluster"))
    assert normalize(record("sso.amazonaws.com", "ListPermissionSets")) is None


def test_inline_admin_policy_is_recognised_and_hostile_values_stay_bounded() -> None:
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    change = normalize(
        record(
            "sso.amazonaws.com",
            "PutInlinePolicyToPermissionSet",
            requestParameters={"inlinePolicy": policy, "name": ["not", "text"]},
        )
    )
    assert isinstance(change, IdentityChange)
    assert change.action == "attach" and change.detail["inline_policy_admin"] is True
    assert "name" not in change.detail


def test_pod_identity_tags_are_read_and_capped() -> None:
    tags = [{"key": f"k{i}", "value": "v" * 1000} for i in range(200)]
    tags[0] = {"key": "kubernetes-namespace", "value": "payments"}
    sts = record(
        "sts.amazonaws.com",
        "AssumeRole",
        userIdentity={"type": "AWSService", "invokedBy": "pods.eks.amazonaws.com"},
        requestParameters={
            "roleArn": "arn:aws:iam::222222222222:role/r",
            "roleSessionName": "s",
            "tags": tags,
            "transitiveTagKeys": ["kubernetes-namespace", {"hostile": 1}],
        },
        vpcEndpointId="vpce-0abc",
    )
    event = normalize(sts)
    assert isinstance(event, RoleEvent)
    assert event.session_tags["kubernetes-namespace"] == "payments"
    assert len(event.session_tags) == 50
    assert all(len(value) <= 256 for value in event.session_tags.values())
    assert event.transitive_tag_keys == ("kubernetes-namespace",)
    assert event.vpc_endpoint_id == "vpce-0abc"


def test_the_new_sources_are_not_skipped_unparsed() -> None:
    for source in ("rolesanywhere", "sso", "identitystore", "eks"):
        names = IN_SCOPE[f"{source}.amazonaws.com"]
        for name in names:
            assert may_be_in_scope(json.dumps(record(f"{source}.amazonaws.com", name)).encode())
        # Their other calls are skipped on their own names, as any other service's.
        assert not may_be_in_scope(json.dumps(record(f"{source}.amazonaws.com", "X")).encode())
