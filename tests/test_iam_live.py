"""Live role metadata against moto in server mode (real HTTP through ``endpoint_url``).

The sample organisation is rebuilt in moto (tests/moto_org.py); the sample stream is replayed
once with snapshot files exported from moto (get-account-authorization-details) and once with
live IAM and Organizations only. Both describe the same roles, so the findings must be the same
but for the field naming where metadata came from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import assume_role, cloudtrail, iam_user
from moto_org import (
    EXAMPLES,
    PROD,
    READ_ROLE,
    SECURITY,
    SampleOrg,
    assumed,
    build_sample_org,
    monitor_environment,
    remap_stream,
    write_accounts_file,
    write_snapshots,
)

from monitor.config.settings import IamConfig, load_settings
from monitor.inventory.aws_sessions import AccountSessions
from monitor.inventory.catalog import LookupStatus
from monitor.inventory.discovery import list_accounts
from monitor.inventory.iam import IamSource
from monitor.metrics import Metrics
from monitor.service.app import build_monitor
from monitor.sources.files import expand, read_messages

pytestmark = pytest.mark.aws


class FakeClock:
    """Wall-clock seconds that move only when told (TTL is the one wall-clock use)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


@pytest.fixture(scope="module")
def org(moto_server: str) -> SampleOrg:
    return build_sample_org(moto_server)


@pytest.fixture
def aws_env(org: SampleOrg, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in monitor_environment(org).items():
        monkeypatch.setenv(key, value)
    yield


def write_config(folder: Path, **sections: Any) -> Path:
    """The sample config with organization/inventory replaced by ``sections``."""
    config = yaml.safe_load((EXAMPLES / "config.yaml").read_text())
    config.pop("organization", None)
    config.pop("inventory", None)
    config.update(sections)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def live_sections(org: SampleOrg, **iam: Any) -> dict[str, Any]:
    return {
        "organization": {"discover": True, "endpoint_url": org.url},
        "inventory": {
            "iam": {
                "enabled": True,
                "endpoint_url": org.url,
                "read_role": f"arn:aws:iam::{{account}}:role/{READ_ROLE}",
                **iam,
            }
        },
    }


def replay(config: Path, inputs: Path) -> tuple[list[dict[str, Any]], Any]:
    """Findings (as their JSON lines would read) and the monitor that produced them."""
    monitor = build_monitor(load_settings(config), state_path=":memory:")
    findings = []
    for source in expand([str(inputs)]):
        for message in read_messages(source):
            findings += monitor.pipeline.process(message.payload).findings
    monitor.close()
    return [json.loads(finding.to_json()) for finding in findings], monitor


def without_source(finding: dict[str, Any]) -> dict[str, Any]:
    evidence = {k: v for k, v in finding["evidence"].items() if k != "role_metadata"}
    return {**{k: v for k, v in finding.items() if k != "metadata"}, "evidence": evidence}


def test_snapshot_and_live_replays_give_identical_findings(
    org: SampleOrg, aws_env: None, tmp_path: Path
) -> None:
    stream = remap_stream(org, tmp_path / "stream")
    snapshots = write_snapshots(org, tmp_path)
    accounts = write_accounts_file(org, tmp_path / "accounts.json")
    snap_dir, live_dir = tmp_path / "snap", tmp_path / "live"
    snap_dir.mkdir(), live_dir.mkdir()
    snapshot_config = write_config(
        snap_dir,
        organization={"accounts_file": str(accounts)},
        inventory={"authorization_details": [str(p) for p in snapshots]},
    )
    live_config = write_config(live_dir, **live_sections(org))

    started = time.perf_counter()
    from_snapshot, _ = replay(snapshot_config, stream)
    snapshot_s = time.perf_counter() - started
    started = time.perf_counter()
    from_live, monitor = replay(live_config, stream)
    live_s = time.perf_counter() - started

    assert {f["metadata"] for f in from_snapshot} == {"snapshot"}
    assert {f["metadata"] for f in from_live} == {"iam"}
    assert [without_source(f) for f in from_live] == [without_source(f) for f in from_snapshot]
    detectors = {f["detector"] for f in from_live}
    assert {"break_glass_assumed", "break_glass_denied", "external_account"} <= detectors
    assert "federation_subject_not_allowed" in detectors
    lookups = monitor.metrics.registry.get_sample_value
    assert lookups("role_monitor_enrichment_lookups_total", {"source": "iam", "outcome": "miss"})
    print(f"\nreplay: snapshot {snapshot_s:.2f} s, live IAM via moto {live_s:.2f} s")


def test_discovery_reads_every_page(org: SampleOrg) -> None:
    client = assumed(org.url, org.ids["111111111111"], "organizations")
    found = list_accounts(client, page_size=1)
    assert set(found) == set(org.accounts)
    assert found[org.ids[PROD]] == "acme-prod"


def make_source(org: SampleOrg, clock: FakeClock, metrics: Metrics, **config: Any) -> IamSource:
    settings = IamConfig(
        enabled=True,
        endpoint_url=org.url,
        read_role=f"arn:aws:iam::{{account}}:role/{READ_ROLE}",
        **config,
    )
    return IamSource(settings, accounts=org.accounts, metrics=metrics, clock=clock)


def outcome(metrics: Metrics, name: str) -> float:
    labels = {"source": "iam", "outcome": name}
    return metrics.registry.get_sample_value("role_monitor_enrichment_lookups_total", labels) or 0


def test_ttl_cache_serves_repeats_and_refetches_after_ttl(org: SampleOrg, aws_env: None) -> None:
    clock, metrics = FakeClock(), Metrics()
    source = make_source(org, clock, metrics, ttl=timedelta(minutes=15))
    first = source.lookup(org.ids[PROD], "BreakGlassAdmin")
    assert first.status is LookupStatus.FOUND and first.role is not None
    assert first.role.tags == {"break-glass": "true"}
    assert first.role.trust_policy and first.role.trust_policy["Statement"]
    assert source.lookup(org.ids[PROD], "breakglassadmin").role == first.role
    assert (outcome(metrics, "miss"), outcome(metrics, "hit")) == (1, 1)
    clock.advance(timedelta(minutes=16))
    source.lookup(org.ids[PROD], "BreakGlassAdmin")
    assert outcome(metrics, "miss") == 2


def test_missing_role_is_negatively_cached(org: SampleOrg, aws_env: None) -> None:
    clock, metrics = FakeClock(), Metrics()
    source = make_source(org, clock, metrics, negative_ttl=timedelta(minutes=5))
    account = org.ids[SECURITY]
    assert source.lookup(account, "LateRole").status is LookupStatus.NOT_FOUND
    assumed(org.url, account, "iam").create_role(
        RoleName="LateRole", AssumeRolePolicyDocument=json.dumps({"Statement": []})
    )
    assert source.lookup(account, "LateRole").status is LookupStatus.NOT_FOUND  # cached
    clock.advance(timedelta(minutes=6))
    assert source.lookup(account, "LateRole").status is LookupStatus.FOUND
    assert outcome(metrics, "not_found") == 2 and outcome(metrics, "miss") == 1


def test_roles_lists_every_account_and_warms_the_cache(org: SampleOrg, aws_env: None) -> None:
    clock, metrics = FakeClock(), Metrics()
    source = make_source(org, clock, metrics, max_concurrency=3)
    roles = {(role.account, role.name) for role in source.roles()}
    assert (org.ids[PROD], "github-deploy") in roles
    assert (org.ids[SECURITY], "IncidentResponse") in roles
    assert {account for account, _ in roles} == set(org.accounts)  # read role everywhere
    incident = source.lookup(org.ids[SECURITY], "IncidentResponse")
    assert incident.role is not None and incident.role.tags == {"break-glass": "true"}
    assert outcome(metrics, "hit") == 1 and outcome(metrics, "miss") == 0


def test_read_role_credentials_are_renewed_before_expiry(org: SampleOrg, aws_env: None) -> None:
    clock = FakeClock()
    config = IamConfig(endpoint_url=org.url, read_role=f"arn:aws:iam::{{account}}:role/{READ_ROLE}")
    sessions = AccountSessions(config, clock)
    first = sessions.iam(org.ids[PROD])
    assert sessions.iam(org.ids[PROD]) is first
    clock.advance(timedelta(minutes=56))  # moto issues one-hour credentials; renewed at 55 min
    assert sessions.iam(org.ids[PROD]) is not first


def test_role_deleted_mid_stream_is_marked_not_found(
    org: SampleOrg, aws_env: None, tmp_path: Path
) -> None:
    account = org.ids[PROD]
    iam = assumed(org.url, account, "iam")
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    iam.create_role(
        RoleName="BreakGlassTemp",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "team", "Value": "sre"}],
    )
    role_arn = f"arn:aws:iam::{account}:role/BreakGlassTemp"
    records = [
        assume_record("e1", "2026-11-01T09:00:00Z", account, role_arn),
        delete_record("e2", "2026-11-01T09:05:00Z", account, "BreakGlassTemp"),
        assume_record("e3", "2026-11-01T09:10:00Z", account, role_arn),
    ]
    monitor = build_monitor(load_settings(write_config(tmp_path, **live_sections(org))))

    first = process(monitor, records[:1])
    iam.delete_role(RoleName="BreakGlassTemp")  # gone from IAM, still in the monitor's cache
    rest = process(monitor, records[1:])
    monitor.close()

    assert [(f["event_id"], f["metadata"]) for f in first] == [("e1", "iam")]
    assert first[0]["evidence"]["role_tags"] == {"team": "sre"}
    assert [(f["event_id"], f["metadata"]) for f in rest] == [("e3", "not_found")]
    assert monitor.pipeline.stats.kinds == {"assumption": 2, "role_change": 1}


def process(monitor: Any, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for record in records:
        found += monitor.pipeline.process(json.dumps(record).encode()).findings
    return [json.loads(f.to_json()) for f in found if f.detector == "break_glass_assumed"]


def assume_record(event_id: str, when: str, account: str, role_arn: str) -> dict[str, Any]:
    oncall = iam_user(account, "oncall")
    return assume_role(
        role_arn, oncall, event_id=event_id, time=when, session="oncall", awsRegion="us-east-1"
    )


def delete_record(event_id: str, when: str, account: str, name: str) -> dict[str, Any]:
    admin = iam_user(account, "admin")
    return cloudtrail(
        "DeleteRole",
        source="iam.amazonaws.com",
        event_id=event_id,
        time=when,
        account=account,
        caller=admin,
        request={"roleName": name},
    )


def test_attacker_named_roles_are_bounded_and_rate_limited(org: SampleOrg, aws_env: None) -> None:
    """Issue 12, point 10: each failed AssumeRole names a role; the names cost bounded memory
    and at most ``not_found_per_minute`` GetRole calls per account and minute."""
    clock, metrics = FakeClock(), Metrics()
    source = make_source(org, clock, metrics, negative_cache_size=5, not_found_per_minute=8)
    account = org.ids[SECURITY]
    answers = [source.lookup(account, f"Forged{n}").status for n in range(50)]
    assert answers.count(LookupStatus.NOT_FOUND) == 8  # then the account's minute is spent
    assert outcome(metrics, "not_found") == 8 and outcome(metrics, "limited") == 42
    assert sum(e.lookup.status is LookupStatus.NOT_FOUND for e in source._cache.values()) == 5
    # A real role of another account is still found; the limited account recovers a minute on.
    assert source.lookup(org.ids[PROD], "BreakGlassAdmin").status is LookupStatus.FOUND
    clock.advance(timedelta(seconds=61))
    assert source.lookup(account, "Forged999").status is LookupStatus.NOT_FOUND
