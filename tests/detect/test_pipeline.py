"""One assumption, one finding: cross-account copies, restarts and checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ListSink, corpus_record, run_records, settings

from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.sinks.base import SinkError
from monitor.sinks.delivery import Delivery, DeliveryFailed

CALLER = "awsdocs-iam-user-guide/01-assumerole-crossaccount-caller-side-IAMUser.json"
OWNER = "awsdocs-iam-user-guide/02-assumerole-crossaccount-role-owner-side-AWSAccount.json"


@pytest.mark.parametrize("order", [(CALLER, OWNER), (OWNER, CALLER), (OWNER,), (CALLER,)])
def test_cross_account_pair_yields_one_finding_whichever_copy_comes_first(
    order: tuple[str, ...],
) -> None:
    records = [corpus_record(name) for name in order]
    for record in records:
        record["eventID"] = f"{record['userIdentity']['type']}-copy"  # each copy has its own id
    monitor, sink = run_records(records)
    assert [f.detector for f in sink.findings] == ["external_account"]
    assert sink.findings[0].assumption_id == "bEXAMPLE-efea-4a70-b951-19a88EXAMPLE"
    assert monitor.pipeline.stats.duplicates == len(order) - 1


def test_caller_copy_names_the_principal_owner_copy_names_the_account() -> None:
    _, from_caller = run_records([corpus_record(CALLER)])
    _, from_owner = run_records([corpus_record(OWNER)])
    assert from_caller.findings[0].principal == "arn:aws:iam::777788889999:user/JohnDoe"
    assert from_owner.findings[0].principal == "777788889999:AIDAQRSTUVWXYZEXAMPLE"
    assert from_owner.findings[0].principal_account == "777788889999"


def _process(state: Path, records: list[dict], sink: ListSink, commit: bool) -> None:
    monitor = build_monitor(settings(), state_path=str(state))
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    for record in records:
        delivery.deliver(monitor.pipeline.process(json.dumps(record).encode()).findings)
    if commit:
        monitor.state.commit()
    monitor.close()


def test_restart_after_checkpoint_pages_nobody_twice(tmp_path: Path) -> None:
    sink = ListSink()
    records = [corpus_record(CALLER)]
    _process(tmp_path / "state.db", records, sink, commit=True)
    _process(tmp_path / "state.db", records, sink, commit=True)  # re-read after a restart
    assert len(sink.findings) == 1


def test_crash_before_checkpoint_redoes_the_work(tmp_path: Path) -> None:
    lost, redone = ListSink(), ListSink()
    records = [corpus_record(CALLER)]
    _process(tmp_path / "state.db", records, lost, commit=False)  # crash: state rolled back
    _process(tmp_path / "state.db", records, redone, commit=True)
    assert len(redone.findings) == 1  # the finding is not lost


class FlakySink(ListSink):
    name = "flaky"

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def send(self, findings: list[Finding]) -> None:
        if self.failures:
            self.failures -= 1
            raise SinkError("down")
        super().send(findings)


def test_failed_sink_is_retried_without_resending_to_the_healthy_one() -> None:
    monitor = build_monitor(settings(), state_path=":memory:")
    healthy, flaky = ListSink(), FlakySink(failures=1)
    delivery = Delivery([healthy, flaky], monitor.state, monitor.metrics)
    findings = monitor.pipeline.process(json.dumps(corpus_record(CALLER)).encode()).findings
    with pytest.raises(DeliveryFailed):
        delivery.deliver(findings)
    assert delivery.deliver(findings) == 1
    assert len(healthy.findings) == 1 and len(flaky.findings) == 1
    failed = monitor.metrics.registry.get_sample_value(
        "role_monitor_alerts_total", {"sink": "flaky", "outcome": "failed"}
    )
    assert failed == 1


def test_severity_override_and_disabled_detector() -> None:
    config = settings(
        detectors={
            "external_account": {"severity": "critical"},
            "break_glass_assumed": {"enabled": False},
        }
    )
    monitor, sink = run_records([corpus_record(CALLER)], config)
    assert [f.severity.value for f in sink.findings] == ["critical"]
    assert "break_glass_assumed" not in {d.id for d in monitor.detectors}


def test_suppression_is_counted_not_silent() -> None:
    config = settings(
        suppressions=[
            {
                "detector": "external_account",
                "match": {"principal_account": "777788889999"},
                "reason": "partner onboarding, ticket SEC-42",
            }
        ]
    )
    monitor, sink = run_records([corpus_record(CALLER)], config)
    assert sink.findings == []
    assert monitor.pipeline.stats.suppressed == {"suppressed": 1}
    value = monitor.metrics.registry.get_sample_value(
        "role_monitor_findings_suppressed_total",
        {"detector": "external_account", "reason": "suppressed"},
    )
    assert value == 1


def test_state_older_than_retention_is_expired_at_checkpoints() -> None:
    config = settings(state={"path": ":memory:", "retention": "1d"})
    old, new = corpus_record(CALLER), corpus_record(CALLER)
    new.update(eventTime="2014-07-21T15:07:39Z", eventID="later", sharedEventID="later-shared")
    monitor, _ = run_records([old], config)
    assert monitor.pipeline.maybe_prune() == 0  # nothing old enough yet
    monitor.pipeline.process(json.dumps(new).encode())  # three days later (event time)
    assert monitor.pipeline.maybe_prune() == 0, "one record so far ahead moves no clock alone"
    newer = dict(new, eventID="latest", sharedEventID="latest-shared")
    monitor.pipeline.process(json.dumps(newer).encode())  # a second one: the stream moved
    assert monitor.pipeline.maybe_prune() > 0
    assert dict(monitor.state.sizes())["assumption"] == 2  # the old one went
    assert monitor.pipeline.maybe_prune() == 0  # at most once per hour of event time
