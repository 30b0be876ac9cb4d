"""Keys bounded in bytes on every backend: 8 KB names in 1-, 2- and 4-byte characters.

Before: one successful AssumeRole whose ``principalId`` / ``userName`` was 2,048 two-byte
characters failed every checkpoint on PostgreSQL ("index row size 4192 exceeds btree version 4
maximum 2704 for index claim_pkey") and stopped the instance for good. Each name here goes
through the whole pipeline (a success, a burst of failures, the caller's first-seen pair), is
committed, is recognised when read again, and leaves no stored key over the bound; the
finding still names the caller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import settings
from kafka_stream import ORG_ACCOUNT, caller_copy

from monitor.findings import Finding
from monitor.service.app import Monitor, build_monitor
from monitor.state.keys import MARK, MAX_KEY_BYTES, bounded
from monitor.state.sqlite import LAYOUT, WINDOWS

#: One character of each UTF-8 width (1, 2 and 4 bytes).
CHARACTERS = {"1-byte": "a", "2-byte": "é", "4-byte": "\U0001f600"}
NAME_BYTES = 8192
DETECTORS = {
    "cross_account_first_seen": {"learning_period": "0s", "merge_period": "0s"},
    "assume_role_denied_burst": {"threshold": 3, "window": "5m"},
}


def long_name(char: str) -> str:
    return char * (NAME_BYTES // len(char.encode()))


def records(name: str) -> list[dict[str, Any]]:
    """One success and three failures by a caller whose every name is ``name``."""
    out = []
    for n in range(4):
        record = caller_copy(n)
        record["userIdentity"].update(principalId=name, userName=name)
        account = record["userIdentity"]["accountId"]
        record["userIdentity"]["arn"] = f"arn:aws:iam::{account}:user/{name}"
        record["requestParameters"]["roleSessionName"] = name[:64]
        record["eventID"] = f"{n}-{name}"
        record["sharedEventID"] = f"shared-{n}-{name}"
        if n:
            record["errorCode"] = "AccessDenied"
            record.pop("responseElements", None)
        out.append(record)
    return out


def checkpoint(monitor: Monitor, batch: list[dict[str, Any]]) -> list[Finding]:
    """Process, claim (a group's state), mark delivered and commit, as ``run`` does."""
    findings: list[Finding] = []
    for record in batch:
        findings += monitor.pipeline.process(json.dumps(record).encode()).findings
    findings = monitor.state.settle(findings)
    for finding in findings:
        monitor.state.mark_delivered(f"{finding.detector}|{finding.dedup_key}", finding.event_time)
    monitor.state.commit()
    return findings


def stored_keys(monitor: Monitor) -> list[str]:
    """Every key part the backend holds (and, in PostgreSQL, every claim key)."""
    state = monitor.state
    backend: Any = state._backend
    keys = [part for table in LAYOUT for key, _ in backend.scan(table, ()) for part in key]
    if state.shared:
        keys += [k for (k,) in backend._conn().execute("SELECT kind || key FROM claim")]
        keys += [k for (k,) in backend._conn().execute(f"SELECT key FROM {WINDOWS}")]
        backend.rollback()
    else:
        keys += [k for (k,) in backend._db.execute(f"SELECT key FROM {WINDOWS}")]
    return [str(k) for k in keys]


@pytest.fixture(params=["sqlite", "postgres"])
def state_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize("width", list(CHARACTERS))
def test_8_kb_names_are_stored_bounded_and_recognised(state_at: str, width: str) -> None:
    name = long_name(CHARACTERS[width])
    config = settings(organization={"accounts": [ORG_ACCOUNT]}, detectors=DETECTORS)
    monitor = build_monitor(config, state_path=state_at)
    try:
        found = checkpoint(monitor, records(name))
        keys = stored_keys(monitor)
    finally:
        monitor.close()
    detectors = {f.detector for f in found}
    assert {"external_account", "cross_account_first_seen", "assume_role_denied_burst"} <= detectors
    assert all(name[:100] in f.principal for f in found if f.principal), "the name is evidence"
    assert keys and max(len(k.encode("utf-8", "surrogatepass")) for k in keys) <= 2 * MAX_KEY_BYTES
    assert any(MARK in k for k in keys), "long keys are shortened, not refused"
    again = build_monitor(config, state_path=state_at)  # a restart finds the rows again
    try:
        later = records(name)[1]
        later["eventID"] = later["sharedEventID"] = f"later-{name}"
        assert checkpoint(again, [later]) == [], "the open burst is found under its key"
        if not again.state.shared:  # a group member leaves copies to claims (docs/scaling.md)
            assert checkpoint(again, records(name)[:1]) == []
            assert again.pipeline.stats.duplicates == 1
    finally:
        again.close()


def test_a_bounded_key_tells_long_names_apart_and_cannot_be_forged() -> None:
    prefix = "a" * 200
    first, second = bounded(prefix + "x" * 100), bounded(prefix + "y" * 100)
    assert first != second and first.startswith("a" * 96)
    assert max(len(first.encode()), len(second.encode())) <= MAX_KEY_BYTES
    assert bounded("short") == "short"
    assert bounded(first) != first  # a name spelled like a shortened key gets a row of its own
    assert len(bounded("\U0001f600" * 64).encode()) <= MAX_KEY_BYTES  # never half a character
    assert bounded("é" * 200).encode().decode() == bounded("é" * 200)
