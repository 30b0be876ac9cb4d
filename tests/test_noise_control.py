"""Noise control and isolation through the real pipeline: suppressions (counted, expiring),
merging of repeats by dedup key, per-detector enable/severity, and a failing detector."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from test_detector_cases import BASE_CONFIG, CASES, load_case, merged

from detectors.base import DetectionContext, Detector
from monitor.config.settings import ConfigError, Settings
from monitor.findings import Finding, Severity
from monitor.service.app import Monitor, build_monitor
from monitor.trust.enrich import EnrichedEvent

#: One external assumption (external_account fires on it) on 2026-03-02 at 10:00.
EXTERNAL = load_case(CASES / "external_account" / "caller_copy_positive.json")["records"][0]


def at(record: dict[str, Any], moment: datetime, n: int) -> dict[str, Any]:
    """A copy of ``record`` at another time, as a distinct event."""
    copied = copy.deepcopy(record)
    copied["eventTime"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    copied["eventID"] = f"{record['eventID']}-{n}"
    copied.pop("sharedEventID", None)
    return copied


def monitor_for(config: dict[str, Any]) -> Monitor:
    return build_monitor(Settings(**merged(BASE_CONFIG, config)))


def run(monitor: Monitor, records: Iterable[dict[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    for record in records:
        found.extend(monitor.pipeline.process(orjson.dumps(record)).findings)
    return found


def sample(monitor: Monitor, name: str, **labels: str) -> float:
    value = monitor.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RULE = {"detector": "external_account", "match": {"principal_account": "666666666666"}}


def test_suppressed_findings_are_counted_not_delivered() -> None:
    monitor = monitor_for({"suppressions": [{**RULE, "reason": "partner migration"}]})
    assert run(monitor, [EXTERNAL]) == []
    assert monitor.pipeline.stats.suppressed["suppressed"] == 1
    assert monitor.pipeline.stats.findings["external_account"] == 0
    labels = {"detector": "external_account", "reason": "suppressed"}
    assert sample(monitor, "role_monitor_findings_suppressed_total", **labels) == 1


def test_suppression_expires_on_event_time() -> None:
    rule = {**RULE, "reason": "until the partner moves", "expires": "2026-03-03"}
    monitor = monitor_for({"suppressions": [rule]})
    records = [at(EXTERNAL, T + timedelta(days=d), d) for d in (0, 1, 2)]
    found = run(monitor, records)
    # suppressed on the 2nd and 3rd (the expiry day still counts), delivered on the 4th
    assert [f.event_time.date().day for f in found] == [4]
    assert monitor.pipeline.stats.suppressed["suppressed"] == 2


def test_suppression_matches_evidence_fields_and_globs() -> None:
    rule = {
        "detector": "external_*",
        "match": {"evidence.source_account": "6666*", "role_arn": "*PartnerReadOnly"},
        "reason": "known partner",
    }
    assert run(monitor_for({"suppressions": [rule]}), [EXTERNAL]) == []
    other = {**rule, "match": {"evidence.source_account": "7777*"}}
    assert len(run(monitor_for({"suppressions": [other]}), [EXTERNAL])) == 1


def test_repeats_with_one_dedup_key_merge_within_the_window() -> None:
    monitor = monitor_for({"dedup": {"window": "1h"}})
    minutes = (0, 10, 50, 70)
    found = run(monitor, [at(EXTERNAL, T + timedelta(minutes=m), m) for m in minutes])
    # 10 and 50 merge into the first; 70 opens a new window
    assert [f.event_time.minute for f in found] == [0, 10]
    assert monitor.pipeline.stats.suppressed["merged"] == 2
    labels = {"detector": "external_account", "reason": "merged"}
    assert sample(monitor, "role_monitor_findings_suppressed_total", **labels) == 2


def test_distinct_dedup_keys_do_not_merge() -> None:
    """Break-glass uses page every time: its dedup key is the assumption itself."""
    records = load_case(CASES / "break_glass_assumed" / "every_use_pages_positive.json")["records"]
    monitor = monitor_for({})
    assert len(run(monitor, records)) == 2
    assert monitor.pipeline.stats.suppressed["merged"] == 0


def test_severity_override_and_disable() -> None:
    found = run(
        monitor_for({"detectors": {"external_account": {"severity": "critical"}}}), [EXTERNAL]
    )
    assert [(f.detector, f.severity) for f in found] == [("external_account", Severity.CRITICAL)]
    assert (
        run(monitor_for({"detectors": {"external_account": {"enabled": False}}}), [EXTERNAL]) == []
    )


def test_unknown_detector_or_knob_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown detector id"):
        monitor_for({"detectors": {"no_such_detector": {}}})
    with pytest.raises(ConfigError, match=r"assume_role_denied_burst\.treshold"):
        monitor_for({"detectors": {"assume_role_denied_burst": {"treshold": 3}}})
    with pytest.raises(ConfigError, match="window"):
        monitor_for({"detectors": {"assume_role_denied_burst": {"window": "soon"}}})


class Exploding(Detector):
    """Fails on every event, in both passes."""

    id = "exploding"
    severity = Severity.INFO
    summary = "test double"

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        yield self.finding(ev, "half a result", {})
        raise RuntimeError("boom")

    def after(self, ev: EnrichedEvent, ctx: DetectionContext, findings: Sequence[Finding]) -> None:
        raise ValueError("boom again")


def test_a_failing_detector_never_stops_the_others_or_the_pipeline() -> None:
    monitor = monitor_for({})
    monitor.pipeline.detectors.insert(0, Exploding())
    records = [at(EXTERNAL, T + timedelta(hours=h), h) for h in (0, 2)]
    found = run(monitor, records)
    assert [f.detector for f in found] == ["external_account", "external_account"]
    assert monitor.pipeline.stats.processed == 2
    # detect and after each failed on both events; the half result was not delivered
    assert monitor.pipeline.stats.detector_errors["exploding"] == 4
    assert sample(monitor, "role_monitor_detector_errors_total", detector="exploding") == 4


def test_a_failing_detector_does_not_block_the_after_pass() -> None:
    """flagged_session_used still sees external_account's finding when another detector fails."""
    monitor = monitor_for({})
    monitor.pipeline.detectors.insert(0, Exploding())
    case = load_case(CASES / "flagged_session_used" / "external_session_pivots_positive.json")
    found = run(monitor, case["records"])
    assert sorted(f.detector for f in found) == ["external_account", "flagged_session_used"]
