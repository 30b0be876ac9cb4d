"""Planned windows: which findings a window covers, how far they are lowered, what is kept.

The behaviour through the real pipeline is in the golden cases (``*/game_day_window_*``); these
pin the edges: the end is exclusive, info is the floor, the account falls back to the
principal's, break-glass/root and outside callers keep their severity.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from plugins.sample_findings import make_finding

from monitor.config.settings import MaintenanceWindow, Settings, load_config
from monitor.detect.planned import PlannedWindows, lowered
from monitor.findings import Severity

DRILL = {
    "start": "2026-11-01T08:00:00Z",
    "end": "2026-11-01T18:00:00Z",
    "accounts": ["222222222222"],
    "reason": "DR game day",
}


def windows(**changes: Any) -> PlannedWindows:
    return PlannedWindows([MaintenanceWindow(**{**DRILL, **changes})])


def rate(**changes: Any) -> Any:
    fields = {"detector": "role_rate_anomaly", "severity": Severity.MEDIUM, **changes}
    return make_finding(**fields)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Severity.CRITICAL, Severity.HIGH),
        (Severity.HIGH, Severity.MEDIUM),
        (Severity.MEDIUM, Severity.LOW),
        (Severity.LOW, Severity.INFO),
        (Severity.INFO, Severity.INFO),
    ],
)
def test_one_step_down_never_below_info(before: Severity, after: Severity) -> None:
    assert lowered(before) == after


def test_inside_is_lowered_and_says_which_window_and_why() -> None:
    finding = windows().apply(rate())
    assert finding.severity == Severity.LOW
    assert finding.evidence["maintenance_window"] == {
        "index": 0,
        "reason": "DR game day",
        "start": "2026-11-01T08:00:00Z",
        "end": "2026-11-01T18:00:00Z",
        "severity_before": "medium",
        "lowered": True,
    }
    assert finding.title.endswith("[planned: DR game day]")
    assert finding.evidence["mfa_used"] is False, "the finding's own evidence is kept"


@pytest.mark.parametrize(
    "at",
    [datetime(2026, 11, 1, 18, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 59, 59, tzinfo=UTC)],
)
def test_the_end_is_exclusive_and_before_the_start_is_outside(at: datetime) -> None:
    finding = rate(event_time=at)
    assert windows().apply(finding) is finding


def test_other_accounts_and_detectors_are_outside() -> None:
    other = rate(role_account="333333333333")
    assert windows().apply(other) is other
    finding = rate()
    assert windows(detectors=["many_roles_*"]).apply(finding) is finding
    assert windows(detectors=["*_rate_anomaly"]).apply(finding).severity == Severity.LOW


def test_a_finding_without_role_account_is_placed_by_its_principal_account() -> None:
    change = rate(role_account=None, principal_account="222222222222")
    assert windows().apply(change).severity == Severity.LOW
    assert windows(accounts=[]).apply(rate(role_account=None)).severity == Severity.LOW


@pytest.mark.parametrize(
    ("changes", "severity"),
    [
        ({"detector": "break_glass_assumed", "severity": Severity.CRITICAL}, Severity.CRITICAL),
        ({"detector": "root_session", "severity": Severity.CRITICAL}, Severity.CRITICAL),
        ({"detector": "external_account", "category": "external"}, Severity.HIGH),
    ],
)
def test_break_glass_root_and_outsiders_keep_paging(
    changes: dict[str, Any], severity: Severity
) -> None:
    finding = windows().apply(rate(**{"severity": Severity.HIGH, **changes}))
    assert finding.severity == severity
    assert finding.evidence["maintenance_window"]["lowered"] is False


def test_a_time_without_zone_is_utc_and_the_environment_takes_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = MaintenanceWindow(start="2026-11-01T08:00:00", end="2026-11-01T09:00", reason="x")
    assert window.start == datetime(2026, 11, 1, 8, tzinfo=UTC)
    monkeypatch.setenv("ROLE_MONITOR_MAINTENANCE_WINDOWS", json.dumps([DRILL]))
    settings: Settings = load_config(None).settings
    assert settings.maintenance_windows[0].accounts == ["222222222222"]
