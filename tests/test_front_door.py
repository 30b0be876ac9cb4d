"""The front door: typed events, one caller parser, one outcome count, one detector-hook guard.

Each test reproduces a way the old entry points disagreed (issue 11): role-change records
skipped text cleaning, a CreateRole counted as processed in the metrics and nowhere in the
summary, a failing change detector was not counted in the summary, and the organization
directory never changed while running.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from helpers import assume_role, iam_user, settings
from test_trust_changes import allow, case, iam, policy, update

from detectors.base import DetectionContext
from monitor.findings import Finding
from monitor.intake.events import (
    MembershipChange,
    OrganizationChange,
    ProviderChange,
    RoleChange,
    RoleEvent,
)
from monitor.intake.normalize import normalize
from monitor.service.app import Monitor, build_monitor

PROD, DEV, STRANGER = "222222222222", "333333333333", "666666666666"
DEPLOY = f"arn:aws:iam::{PROD}:role/Deploy"
OKTA = f"arn:aws:iam::{PROD}:saml-provider/Okta"
HOSTILE_AGENT = "aws-cli\x1b[31m\u202e\r\n<!channel>" + "A" * 5000


def monitor_for(tmp_path: Path | None = None, **sections: Any) -> Monitor:
    state = str(tmp_path / "state.db") if tmp_path else ":memory:"
    base = {"organization": {"accounts": [PROD, DEV]}, **sections}
    return build_monitor(settings(**base), state_path=state)


def feed(monitor: Monitor, *records: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for record in records:
        found += monitor.pipeline.process(json.dumps(record).encode()).findings
    return found


def records_metric(monitor: Monitor, outcome: str) -> float:
    value = monitor.metrics.registry.get_sample_value(
        "role_monitor_records_total", {"outcome": outcome}
    )
    return value or 0.0


def assumption(event_id: str, account: str, when: str = "2026-11-01T10:00:00Z") -> dict[str, Any]:
    """User ``builder`` of ``account`` assumes Deploy (the caller account's copy)."""
    return assume_role(
        DEPLOY, iam_user(account, "builder"), event_id=event_id, time=when, account=account
    )


def organizations(name: str, event_id: str, account: str, **request: Any) -> dict[str, Any]:
    record = iam(name, event_id, request, account=account)
    record["eventSource"] = "organizations.amazonaws.com"
    record["userIdentity"] = iam_user(account, "org-admin")
    return record


# -- typed events ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "kind"),
    [
        (assumption("a1", DEV), RoleEvent),
        (update("Deploy", policy(allow("*"))), RoleChange),
        (iam("DeleteOpenIDConnectProvider", "p1", {}), ProviderChange),
        (organizations("LeaveOrganization", "o1", DEV), OrganizationChange),
    ],
)  # fmt: skip
def test_normalising_returns_one_typed_event_per_kind(record: dict[str, Any], kind: type) -> None:
    assert type(normalize(record)) is kind


def test_provider_change_reads_what_changed_never_the_document() -> None:
    metadata = "<EntityDescriptor>" + "x" * 100_000 + "</EntityDescriptor>"
    record = iam(
        "UpdateSAMLProvider",
        "p2",
        {"sAMLProviderArn": OKTA, "sAMLMetadataDocument": metadata},
    )
    change = normalize(record)
    assert isinstance(change, ProviderChange)
    assert (change.provider_type, change.action, change.provider_name) == ("saml", "update", "Okta")
    assert set(change.detail) == {"metadata_sha256"} and len(change.detail["metadata_sha256"]) == 64


def test_membership_records_name_the_account() -> None:
    removed = normalize(organizations("RemoveAccountFromOrganization", "o2", PROD, accountId=DEV))
    assert isinstance(removed, OrganizationChange)
    assert (removed.kind, removed.account) == (MembershipChange.REMOVED, DEV)
    created = organizations("CreateAccountResult", "o3", PROD)
    created["serviceEventDetails"] = {
        "createAccountStatus": {"state": "SUCCEEDED", "accountId": "555555555555"}
    }
    joined = normalize(created)
    assert isinstance(joined, OrganizationChange) and joined.account == "555555555555"
    failed = organizations("LeaveOrganization", "o4", DEV, errorCode="AccessDenied")
    failed["errorCode"] = "AccessDenied"
    assert normalize(failed) is None


# -- one caller parser, always cleaning ------------------------------------------------------------


def test_role_change_text_is_cleaned_like_an_assumption() -> None:
    record = update("OrganizationAuditRole", policy(allow("*")), userAgent=HOSTILE_AGENT)
    record["userIdentity"]["userName"] = "admin\u202e\x07"
    change = normalize(record)
    assert isinstance(change, RoleChange) and change.user_agent is not None
    assert len(change.user_agent) <= 512
    assert "\u202e" not in change.user_agent and "\x1b" not in change.user_agent
    assert change.caller.user_name == "admin\\u202e\\u0007"


def test_a_role_change_finding_carries_the_cleaned_user_agent() -> None:
    monitor = monitor_for()
    record = case("AWS.IAM.BackdoorRole__1.json")
    record["userAgent"] = HOSTILE_AGENT
    (finding,) = feed(monitor, record)
    assert finding.detector == "trust_policy_opened"
    agent = finding.user_agent
    assert agent is not None and len(agent) <= 512
    assert not any(ch in agent for ch in "\u202e\x1b\r\n")


# -- one place for outcomes ------------------------------------------------------------------------


def test_summary_and_metrics_count_a_role_change_the_same() -> None:
    monitor = monitor_for()
    feed(monitor, case("stratus_aws.persistence.iam-create-backdoor-role__1.json"))
    stats = monitor.pipeline.stats
    assert (stats.processed, stats.skipped, stats.kinds["role_change"]) == (1, 0, 1)
    assert records_metric(monitor, "processed") == 1 and records_metric(monitor, "skipped") == 0


def test_every_record_is_counted_exactly_once() -> None:
    monitor = monitor_for()
    garbage = b'{"eventSource": "ec2.amazonaws.com", "eventName": "Run'
    noise = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}
    change = case("stratus_aws.persistence.iam-backdoor-role__1.json")
    feed(monitor, assumption("a1", DEV), assumption("a1", DEV), change, change, noise)
    monitor.pipeline.process(garbage)
    stats = monitor.pipeline.stats
    assert (stats.processed, stats.duplicates, stats.skipped) == (2, 2, 1)
    assert stats.rejected == {"invalid_json": 1}
    for outcome, count in (("processed", 2), ("duplicate", 2), ("skipped", 1), ("rejected", 1)):
        assert records_metric(monitor, outcome) == count, outcome
    assert stats.records == 5, "the cut-short message never became a record"


class Exploding:
    """A change detector that fails on every change."""

    id = "trust_policy_opened"

    def detect(self, ev: Any, ctx: DetectionContext) -> Iterable[Finding]:
        return ()

    def after(self, ev: Any, ctx: DetectionContext, findings: Any) -> None: ...

    def detect_change(self, change: Any, before: Any, ctx: DetectionContext) -> Iterable[Finding]:
        raise RuntimeError("boom")


def test_a_failing_change_detector_is_counted_in_summary_and_metrics() -> None:
    monitor = monitor_for()
    monitor.pipeline.changes.detectors = [Exploding()]  # type: ignore[list-item]
    feed(monitor, update("Deploy", policy(allow("*"))), assumption("a2", DEV))
    assert monitor.pipeline.stats.detector_errors == {"trust_policy_opened": 1}
    errors = monitor.metrics.registry.get_sample_value(
        "role_monitor_detector_errors_total", {"detector": "trust_policy_opened"}
    )
    assert errors == 1
    assert monitor.pipeline.stats.processed == 2, "the stream went on"


# -- the organization directory, in-stream ---------------------------------------------------------


def external(findings: list[Finding]) -> list[str]:
    return [f.event_id for f in findings if f.detector == "external_account"]


def test_a_departure_outlives_a_restart(tmp_path: Path) -> None:
    first = monitor_for(tmp_path)
    found = feed(first, organizations("LeaveOrganization", "o5", DEV))
    assert [f.detector for f in found] == ["account_left_organization"]
    first.state.commit()
    first.close()
    second = monitor_for(tmp_path)
    assert external(feed(second, assumption("a3", DEV))) == ["a3"]
    second.close()


def test_a_joined_account_stops_being_external() -> None:
    monitor = monitor_for()
    assert external(feed(monitor, assumption("a4", STRANGER))) == ["a4"]
    handshake = organizations("AcceptHandshake", "o6", STRANGER, handshakeId="h-1")
    handshake["responseElements"] = {
        "handshake": {"action": "INVITE", "state": "ACCEPTED", "parties": []}
    }
    feed(monitor, handshake)
    later = assumption("a5", STRANGER, when="2026-11-01T11:00:00Z")
    later["userIdentity"] = iam_user(STRANGER, "someone-else")
    assert external(feed(monitor, later)) == []
    assert STRANGER in monitor.pipeline.enricher.org
