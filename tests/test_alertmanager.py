"""Findings reach Debian's real ``prometheus-alertmanager`` as alerts, once per finding.

The sample stream is replayed through the real pipeline and delivered by AlertmanagerSink; the
test reads the alerts back from ``GET /api/v2/alerts``. A "restart" (a new monitor with fresh
state, so every finding is sent again, as after a crash before the offset commit) must leave
exactly one alert per fingerprint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from plugins.prometheus_stack import alertmanager, free_port, get_json
from plugins.sample_findings import SLACK_MENTION, hostile_finding, make_finding

from monitor.config.settings import AlertmanagerSinkConfig, load_settings
from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import SinkError
from monitor.sinks.delivery import Delivery
from monitor.sinks.render import fingerprint
from monitor.sinks.retry import RetryPolicy
from monitor.sources.files import expand, read_messages

pytestmark = pytest.mark.prom

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
RUNBOOK = "https://runbooks.example/role-monitor.md"
LABELS = {"alertname", "detector", "severity", "role_account", "fingerprint"}


def replay_into(url: str) -> list[Finding]:
    """One monitor run over the bundled stream, findings delivered to Alertmanager at ``url``."""
    settings = load_settings(EXAMPLES / "config.yaml")
    monitor = build_monitor(settings, state_path=":memory:")
    sink = AlertmanagerSink(AlertmanagerSinkConfig(url=url, runbook_base_url=RUNBOOK))
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    findings: list[Finding] = []
    try:
        for source in expand([str(EXAMPLES / "stream")]):
            for message in read_messages(source):
                processed = monitor.pipeline.process(message.payload)
                delivery.deliver(processed.findings)
                findings.extend(processed.findings)
        delivery.flush()
    finally:
        delivery.close()
        monitor.close()
    return findings


def alerts(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get_json(f"{url}/api/v2/alerts")
    return found


def test_replayed_findings_become_alerts_and_a_restart_adds_none(tmp_path: Path) -> None:
    with alertmanager(tmp_path / "alertmanager") as url:
        findings = replay_into(url)
        assert len(findings) >= 4, "the bundled stream yields several findings"
        first = alerts(url)
        assert len(first) == len(findings)

        for finding in findings:
            (alert,) = [a for a in first if a["labels"]["fingerprint"] == fingerprint(finding)]
            assert alert["labels"]["detector"] == finding.detector
            assert set(alert["labels"]) == LABELS
            assert alert["labels"]["severity"] == finding.severity.value
            assert alert["labels"]["role_account"] == finding.role_account
            assert alert["labels"]["alertname"].startswith("RoleMonitor")
            assert alert["status"]["state"] == "active"
            assert alert["startsAt"].startswith(finding.model_dump(mode="json")["event_time"][:19])
            notes = alert["annotations"]
            assert notes["summary"] == finding.title
            assert f"Principal: {finding.principal}" in notes["description"].splitlines()
            assert notes["runbook_url"] == f"{RUNBOOK}#{finding.detector}"
            assert notes["event_id"] == finding.event_id
            assert alert["generatorURL"] == notes["runbook_url"]
        names = {a["labels"]["detector"]: a["labels"]["alertname"] for a in first}
        assert names["break_glass_assumed"] == "RoleMonitorBreakGlassAssumed"

        replay_into(url)  # the restart: fresh state, every finding sent again
        second = alerts(url)
        assert len(second) == len(first)
        assert {a["fingerprint"] for a in second} == {a["fingerprint"] for a in first}
        assert {a["labels"]["fingerprint"] for a in second} == {
            a["labels"]["fingerprint"] for a in first
        }


def test_hostile_values_stay_in_bounded_annotations(tmp_path: Path) -> None:
    hostile = hostile_finding(dedup_key="break_glass_assumed:hostile")
    plain = make_finding()
    with alertmanager(tmp_path / "alertmanager") as url:
        AlertmanagerSink(AlertmanagerSinkConfig(url=url)).send([hostile, plain])
        by_key = {a["labels"]["fingerprint"]: a for a in alerts(url)}
    assert len(by_key) == 2
    alert = next(a for a in by_key.values() if a["labels"]["role_account"] == "unknown")
    assert set(alert["labels"]) == LABELS, "no per-event value became a label"
    notes = alert["annotations"]
    assert len(notes["user_agent"]) <= 512 and notes["user_agent"].endswith("…")
    assert len(notes["summary"]) <= 256
    assert len(notes["description"]) <= 4096
    for key, value in notes.items():
        if key != "description":  # the only annotation with (our own) line breaks
            assert "\n" not in value and "\x1b" not in value, key
    assert SLACK_MENTION in notes["principal"], "JSON carries it verbatim; templates escape"


def test_late_findings_still_fire() -> None:
    """An event from a backlog (days old) must not arrive at Alertmanager already resolved."""
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    sink = AlertmanagerSink(AlertmanagerSinkConfig(url="http://unused"), clock=lambda: now)
    old = make_finding(event_time=now - timedelta(days=3))
    alert = sink.alert(old)
    assert alert["startsAt"] == "2026-11-25T12:00:00Z"
    assert alert["endsAt"] == "2026-11-28T13:00:00Z"


def test_unreachable_alertmanager_is_a_sink_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    sink = AlertmanagerSink(
        AlertmanagerSinkConfig(url=url), policy=RetryPolicy(attempts=2, initial=0.01)
    )
    with pytest.raises(SinkError, match=r"127\.0\.0\.1:\d+/\*\*\*"):
        sink.send([make_finding()])
