"""IAM role changes on the input: applied to role metadata at once, and trust_policy_opened.

Runs on the bundled sample organisation (examples/: snapshot metadata, accounts file) so the
before/after of each change is known; live-IAM invalidation is checked with a fake source.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, assume_role, cloudtrail, iam_user

from monitor.config.settings import load_settings
from monitor.intake.events import RoleEvent
from monitor.intake.normalize import normalize
from monitor.intake.normalize_changes import parse_role_change
from monitor.inventory.catalog import LookupStatus, RoleCatalog, RoleInfo, RoleLookup
from monitor.inventory.changes import ChangeKind
from monitor.service.app import Monitor, build_monitor
from monitor.trust.enrich import EnrichedEvent

CASES = REPO / "tests" / "fixtures" / "iam-changes"
PROD, SECURITY, MGMT = "222222222222", "444444444444", "111111111111"
VENDOR, STRANGER = "999988887777", "666666666666"
GITHUB = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"


def sample_monitor(tmp_path: Path, extra: str = "") -> Monitor:
    config = (REPO / "examples" / "config.yaml").read_text()
    path = REPO / "examples" / "config.yaml"
    if extra:
        path = tmp_path / "config.yaml"
        path.write_text(config.replace("org/", str(REPO / "examples" / "org") + "/") + extra)
    return build_monitor(load_settings(path), state_path=":memory:")


def run(monitor: Monitor, *records: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for record in records:
        found += monitor.pipeline.process(json.dumps(record).encode()).findings
    return [json.loads(f.to_json()) for f in found]


def iam(name: str, event_id: str, request: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An IAM change by PROD's admin; ``time``, ``account`` and top-level fields may be given."""
    fields = {
        "eventVersion": "1.09",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.9",
        "userAgent": "aws-cli/2.15.30",
        **extra,
    }
    return cloudtrail(
        name,
        source="iam.amazonaws.com",
        event_id=event_id,
        time=fields.pop("time", "2026-11-01T09:00:00Z"),
        account=fields.pop("account", PROD),
        caller=fields.pop("userIdentity", iam_user(PROD, "admin")),
        request=request,
        **fields,
    )


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: str = "sts:AssumeRole", **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


def update(role: str, document: str, event_id: str = "u1", **extra: Any) -> dict[str, Any]:
    return iam(
        "UpdateAssumeRolePolicy",
        event_id,
        {"roleName": role, "policyDocument": document},
        **extra,
    )


def assume(event_id: str, when: str, role_arn: str, caller: dict[str, Any]) -> dict[str, Any]:
    return assume_role(role_arn, caller, event_id=event_id, time=when)


def case(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((CASES / name).read_text())["record"])


# -- reading change records -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "role", "has_policy"),
    [
        (
            "stratus_aws.persistence.iam-backdoor-role__1.json",
            "UpdateAssumeRolePolicy",
            "stratus-red-team-backdoor-r-role",
            True,
        ),
        (
            "stratus_aws.persistence.iam-create-backdoor-role__1.json",
            "CreateRole",
            "stratus-red-team-malicious-iam-role",
            True,
        ),
        ("AWS.IAM.BackdoorRole__1.json", "UpdateAssumeRolePolicy", None, True),
        ("AWS.IAM.BackdoorRole__3.json", "UpdateAssumeRolePolicy", None, False),
        ("AWS.IAM.CreateRole__1.json", "CreateRole", "new-role", False),
    ],
)
def test_change_records_are_read(name: str, kind: str, role: str | None, has_policy: bool) -> None:
    change = parse_role_change(case(name))
    assert change is not None
    assert (change.kind.value, change.role_name) == (kind, role)
    assert (change.trust_policy is not None) is has_policy


def test_create_role_reads_arn_path_and_url_encoded_policy() -> None:
    record = case("stratus_aws.persistence.iam-create-backdoor-role__1.json")
    record["requestParameters"].pop("assumeRolePolicyDocument")  # only the response's copy
    change = parse_role_change(record)
    assert change is not None and change.trust_policy is not None
    assert change.role_arn == "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role"
    assert change.trust_policy["Statement"][0]["Principal"]["AWS"].endswith("193672423079:root")


def test_failed_and_unrelated_calls_are_not_changes() -> None:
    failed = case("stratus_aws.persistence.iam-backdoor-role__1.json")
    failed["errorCode"] = "AccessDenied"
    attach = iam("AttachRolePolicy", "a1", {"roleName": "x", "policyArn": "arn:aws:iam::aws:p"})
    sts = {**iam("TagRole", "t1", {}), "eventSource": "sts.amazonaws.com"}
    assert [parse_role_change(r) for r in (failed, attach, sts)] == [None, None, None]


def test_tags_are_read_in_cloudtrail_and_api_spelling() -> None:
    tags = [{"key": "a", "value": "1"}, {"Key": "b", "Value": "2"}]
    tag = parse_role_change(iam("TagRole", "t", {"roleName": "r", "tags": tags}))
    untag = parse_role_change(iam("UntagRole", "u", {"roleName": "r", "tagKeys": ["a"]}))
    assert tag is not None and tag.tags == {"a": "1", "b": "2"}
    assert untag is not None and untag.kind is ChangeKind.UNTAG and untag.tag_keys == ("a",)


# -- trust_policy_opened ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "opens"),
    [
        ("stratus_aws.persistence.iam-backdoor-role__1.json", True),  # outside account root
        ("stratus_aws.persistence.iam-create-backdoor-role__1.json", True),
        ("AWS.IAM.BackdoorRole__1.json", True),  # '*' pinned only by an ExternalId
        ("AWS.IAM.BackdoorRole__2.json", False),  # a service principal
        ("AWS.IAM.BackdoorRole__3.json", False),  # no policy in the record
        ("AWS.IAM.CreateRole__1.json", False),
    ],
)
def test_opened_on_corpus_cases(tmp_path: Path, name: str, opens: bool) -> None:
    findings = run(sample_monitor(tmp_path), case(name))
    assert [f["detector"] for f in findings] == (["trust_policy_opened"] if opens else [])
    if opens:
        assert findings[0]["severity"] == "high"
        assert findings[0]["evidence"]["opened"]


OIDC_PINNED = {
    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"},
}


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        (allow("*"), "public_principal"),
        (allow({"AWS": "*"}, **{"StringEquals": {"sts:ExternalId": "x"}}), "public_principal"),
        (allow({"AWS": f"arn:aws:iam::{STRANGER}:user/x"}), "untrusted_external_account"),
        (allow({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity"), "oidc_without_sub"),
        (allow({"AWS": "*"}, **{"StringEquals": {"aws:PrincipalOrgID": "o-acme"}}), None),
        (allow({"AWS": f"arn:aws:iam::{SECURITY}:root"}), None),  # organization member
        (allow({"AWS": f"arn:aws:iam::{VENDOR}:root"}), None),  # trusted vendor
        (allow({"AWS": f"arn:aws:iam::{PROD}:root"}), None),  # same account
        (allow({"Service": "ec2.amazonaws.com"}), None),
        (allow({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", **OIDC_PINNED), None),
        ({**allow(f"arn:aws:iam::{STRANGER}:root"), "Effect": "Deny"}, None),
    ],
)
def test_opened_verdicts(tmp_path: Path, statement: dict[str, Any], code: str | None) -> None:
    findings = run(sample_monitor(tmp_path), update("OrganizationAuditRole", policy(statement)))
    assert [f["evidence"]["opened"][0]["code"] for f in findings] == ([code] if code else [])


def test_only_newly_admitted_outsiders_count(tmp_path: Path) -> None:
    """LegacyPartnerAccess already trusts 666666666666: keeping it is no news, adding is."""
    monitor = sample_monitor(tmp_path)
    partner = allow({"AWS": f"arn:aws:iam::{STRANGER}:root"})
    kept = policy(partner, allow({"Service": "ec2.amazonaws.com"}))
    added = policy(partner, allow({"AWS": "123456789012"}))
    assert run(monitor, update("LegacyPartnerAccess", kept, "u1")) == []
    [finding] = run(monitor, update("LegacyPartnerAccess", added, "u2"))
    assert [o["principal"] for o in finding["evidence"]["opened"]] == ["123456789012"]
    assert finding["evidence"]["previous_policy_known"] is True
    assert finding["role_arn"] == f"arn:aws:iam::{PROD}:role/LegacyPartnerAccess"
    assert finding["principal"] == f"arn:aws:iam::{PROD}:user/admin"


def test_create_role_open_to_the_world_then_used(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path)
    create = iam(
        "CreateRole",
        "c1",
        {
            "roleName": "backdoor",
            "assumeRolePolicyDocument": policy(allow({"AWS": "*"})),
            "tags": [{"key": "owner", "value": "mallory"}],
        },
    )
    [opened] = run(monitor, create)
    assert opened["detector"] == "trust_policy_opened" and opened["event_name"] == "CreateRole"
    used = run(
        monitor,
        assume(
            "a1",
            "2026-11-01T09:30:00Z",
            f"arn:aws:iam::{PROD}:role/backdoor",
            iam_user(STRANGER, "x"),
        ),
    )
    external = next(f for f in used if f["detector"] == "external_account")
    assert external["metadata"] == "stream"
    assert external["evidence"]["role_tags"] == {"owner": "mallory"}
    assert external["evidence"]["trust_grant"]["principal"] == "*"
    assert external["evidence"]["trust_grant"]["scope"] == "public"


def test_duplicate_change_record_counts_once(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path)
    record = case("stratus_aws.persistence.iam-backdoor-role__1.json")
    assert len(run(monitor, record, record)) == 1


def test_disabled_detector_still_applies_the_change(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path, "detectors:\n  trust_policy_opened: {enabled: false}\n")
    assert run(monitor, update("OrganizationAuditRole", policy(allow("*")))) == []
    role = monitor.catalog.lookup(f"arn:aws:iam::{PROD}:role/OrganizationAuditRole").role
    assert role is not None and role.trust_policy is not None
    assert role.trust_policy["Statement"][0]["Principal"] == "*"


# -- changes applied at once ------------------------------------------------------------------

AUDIT_ARN = f"arn:aws:iam::{PROD}:role/OrganizationAuditRole"


def test_tag_and_untag_switch_break_glass(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path)
    tag = iam(
        "TagRole",
        "t1",
        {"roleName": "OrganizationAuditRole", "tags": [{"key": "break-glass", "value": "true"}]},
    )
    untag = iam(
        "UntagRole", "t2", {"roleName": "OrganizationAuditRole", "tagKeys": ["break-glass"]}
    )
    auditor = iam_user(SECURITY, "auditor")
    assert run(monitor, assume("a0", "2026-11-01T08:59:00Z", AUDIT_ARN, auditor)) == []
    tagged = run(monitor, tag, assume("a1", "2026-11-01T09:01:00Z", AUDIT_ARN, auditor))
    assert [f["detector"] for f in tagged] == ["break_glass_assumed"]
    assert tagged[0]["evidence"]["role_tags"] == {"break-glass": "true"}
    assert run(monitor, untag, assume("a2", "2026-11-01T09:02:00Z", AUDIT_ARN, auditor)) == []


def test_delete_role_marks_later_events_not_found(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path)
    arn = f"arn:aws:iam::{PROD}:role/BreakGlassAdmin"
    before = run(monitor, assume("a1", "2026-11-01T09:00:00Z", arn, iam_user(MGMT, "bob")))
    delete = iam("DeleteRole", "d1", {"roleName": "BreakGlassAdmin"}, time="2026-11-01T09:01:00Z")
    after = run(monitor, delete, assume("a2", "2026-11-01T09:02:00Z", arn, iam_user(MGMT, "bob")))
    assert [(f["detector"], f["metadata"]) for f in before] == [("break_glass_assumed", "snapshot")]
    assert [(f["detector"], f["metadata"]) for f in after] == [("break_glass_assumed", "not_found")]
    assert after[0]["evidence"]["trust_grant"]["admitted_by"] is None


def test_updated_policy_is_what_names_the_grant(tmp_path: Path) -> None:
    monitor = sample_monitor(tmp_path)
    github = json.loads((REPO / "examples/org/prod-authorization-details.json").read_text())
    document = next(r for r in github["RoleDetailList"] if r["RoleName"] == "github-deploy")
    statement = document["AssumeRolePolicyDocument"]["Statement"][0]
    sub = "token.actions.githubusercontent.com:sub"
    statement["Condition"]["StringLike"][sub] = "repo:*/acme-infra-fork:*"
    run(monitor, update("github-deploy", policy(statement)))
    subject = "repo:someone-else/acme-infra-fork:ref:refs/heads/main"
    record = {
        **assume("w1", "2026-11-01T10:25:00Z", f"arn:aws:iam::{PROD}:role/github-deploy", {}),
        "eventName": "AssumeRoleWithWebIdentity",
        "userIdentity": {
            "type": "WebIdentityUser",
            "userName": subject,
            "identityProvider": GITHUB,
            "principalId": f"{GITHUB}:x:{subject}",
        },
    }
    record["responseElements"].update(
        subjectFromWebIdentityToken=subject, provider=GITHUB, audience="sts.amazonaws.com"
    )
    [finding] = run(monitor, record)
    assert finding["detector"] == "federation_subject_not_allowed"
    grant = finding["evidence"]["trust_grant"]
    assert (
        "StringLike token.actions.githubusercontent.com:sub = repo:*/acme-infra-fork:*"
        in (grant["conditions"])
    )
    assert grant["verified"] is True and grant["weaknesses"] == ["oidc_wildcard_sub"]


def test_a_policy_change_replaces_a_warm_cached_grant(tmp_path: Path) -> None:
    """Enrichment remembers the admitting grant per role version and caller; an
    UpdateAssumeRolePolicy on the stream must make the very next assumption by the same caller
    see the new policy, never the grant remembered for the old one."""
    monitor = sample_monitor(tmp_path)
    enricher = monitor.pipeline.enricher
    auditor = iam_user(SECURITY, "auditor")

    def enriched(event_id: str, when: str) -> EnrichedEvent:
        event = normalize(assume(event_id, when, AUDIT_ARN, auditor))
        assert isinstance(event, RoleEvent)
        return enricher.enrich(event)

    first, again = enriched("a1", "2026-11-01T09:00:00Z"), enriched("a2", "2026-11-01T09:01:00Z")
    assert first.grant is not None and again.grant is first.grant  # served from the cache
    assert first.grant.grant.principal == f"arn:aws:iam::{SECURITY}:root"
    user = f"arn:aws:iam::{SECURITY}:user/auditor"
    run(monitor, update("OrganizationAuditRole", policy(allow({"AWS": user}))))
    after = enriched("a3", "2026-11-01T09:03:00Z")
    assert after.grant is not None and after.grant.grant.principal == user
    assert after.trust is not first.trust
    run(monitor, update("OrganizationAuditRole", policy(allow({"AWS": MGMT})), event_id="u2"))
    assert enriched("a4", "2026-11-01T09:05:00Z").grant is None


class CachingFake:
    """A live-like source: answers from a dict, records what the catalog asks of it."""

    name = "fake"

    def __init__(self, role: RoleInfo) -> None:
        self.role = role
        self.calls: list[str] = []

    def lookup(self, account: str, role_name: str) -> RoleLookup:
        self.calls.append("lookup")
        return RoleLookup(LookupStatus.FOUND, self.role, self.name)

    def roles(self) -> list[RoleInfo]:
        return [self.role]

    def cached(self, account: str, role_name: str) -> RoleLookup | None:
        self.calls.append("cached")
        return None

    def invalidate(self, account: str, role_name: str) -> None:
        self.calls.append(f"invalidate {account}/{role_name}")


def test_change_invalidates_live_cache_without_calling_out() -> None:
    role = RoleInfo(
        arn=AUDIT_ARN,
        account=PROD,
        name="OrganizationAuditRole",
        source="fake",
        tags={"team": "audit"},
        trust_policy={"Statement": []},
    )
    fake = CachingFake(role)
    catalog = RoleCatalog([fake])
    change = parse_role_change(update("OrganizationAuditRole", policy(allow("*"))))
    assert change is not None
    before = catalog.apply_change(change)
    assert before.status is LookupStatus.UNKNOWN  # the cache was empty: nothing fetched
    assert fake.calls == ["cached", f"invalidate {PROD}/OrganizationAuditRole"]
    after = catalog.lookup(AUDIT_ARN)
    assert after.source == "fake" and after.role is not None
    assert after.role.tags == {"team": "audit"}  # the live answer, patched
    assert after.role.trust_policy == json.loads(policy(allow("*")))
    assert [r.trust_policy for r in catalog.roles()] == [after.role.trust_policy]


# -- kept across restarts (learn, then replay or run from the same state) ----------------------


def file_monitor(state: Path) -> Monitor:
    return build_monitor(load_settings(REPO / "examples" / "config.yaml"), state_path=str(state))


def test_role_changes_survive_a_restart_on_the_same_state(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    first = file_monitor(state)
    created = iam(
        "CreateRole",
        "c1",
        {"roleName": "vendor-new", "assumeRolePolicyDocument": policy(allow({"AWS": VENDOR}))},
    )
    tagged = iam("TagRole", "t1", {"roleName": "vendor-new", "tags": [{"key": "k", "value": "v"}]})
    deleted = iam("DeleteRole", "d1", {"roleName": "BreakGlassAdmin"})
    updated = update("OrganizationAuditRole", policy(allow({"AWS": STRANGER})), "u9")
    run(first, created, tagged, deleted, updated)
    first.state.commit()
    first.close()

    again = file_monitor(state)
    try:
        new = again.catalog.lookup(f"arn:aws:iam::{PROD}:role/vendor-new")
        assert new.status is LookupStatus.FOUND and new.source == "stream" and new.role
        assert new.role.tags == {"k": "v"}
        assert new.role.trust_policy == json.loads(policy(allow({"AWS": VENDOR})))
        gone = again.catalog.lookup(f"arn:aws:iam::{PROD}:role/BreakGlassAdmin")
        assert gone.status is LookupStatus.NOT_FOUND
        audit = again.catalog.lookup(AUDIT_ARN).role
        assert audit is not None and audit.trust_policy is not None
        assert audit.trust_policy["Statement"][0]["Principal"] == {"AWS": STRANGER}
    finally:
        again.close()


def test_an_unreadable_stored_catalog_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    first = file_monitor(state)
    first.state.set_meta("role_catalog_changes", '[{"key": 1}, "x", {"no": "key"}]')
    first.state.commit()
    first.close()
    again = file_monitor(state)
    try:
        found = again.catalog.lookup(AUDIT_ARN)
        assert found.status is LookupStatus.FOUND and found.source == "snapshot"
    finally:
        again.close()
