"""build_sinks wiring and the short in-send retry policy."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from plugins.sample_findings import make_finding
from pydantic import SecretStr

from monitor.config.settings import Settings
from monitor.metrics import Metrics
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import SinkError
from monitor.sinks.factory import build_sinks
from monitor.sinks.jsonl import JsonLinesSink
from monitor.sinks.retry import RetryPolicy, TransientSinkError, with_retries
from monitor.sinks.webhook import WebhookSink


def test_no_alerts_section_means_json_lines_on_stdout() -> None:
    (sink,) = build_sinks(Settings())
    assert isinstance(sink, JsonLinesSink) and sink.path == "-"


def test_every_configured_sink_is_built_in_a_stable_order(tmp_path: Path) -> None:
    settings = Settings(
        base_dir=tmp_path,
        alerts={
            "jsonl": {"path": "findings.jsonl"},
            "kafka": {"topic": "alerts"},
            "alertmanager": {"url": "http://127.0.0.1:9093", "runbook_base_url": "https://rb"},
            "sns": {"topic_arn": "arn:aws:sns:us-east-1:123456789012:alerts"},
            "webhook": {"url": "https://hooks.example/T/B/secret", "format": "slack"},
        },
    )
    sinks = build_sinks(settings, Metrics())
    assert [s.name for s in sinks] == ["jsonl", "kafka", "alertmanager", "sns", "webhook"]
    jsonl = sinks[0]
    assert isinstance(jsonl, JsonLinesSink) and jsonl.path == f"{tmp_path}/findings.jsonl"
    webhook = sinks[-1]
    assert isinstance(webhook, WebhookSink)
    assert "secret" not in repr(webhook)
    for sink in sinks:
        sink.close()


def test_retry_counter_exists_before_any_retry() -> None:
    metrics = Metrics()
    build_sinks(Settings(alerts={"alertmanager": {"url": "http://127.0.0.1:1"}}), metrics)
    sample = metrics.registry.get_sample_value
    assert sample("role_monitor_alerts_total", {"sink": "alertmanager", "outcome": "retried"}) == 0


def test_webhook_secret_is_a_secret() -> None:
    settings = Settings(alerts={"webhook": {"url": "https://hooks.example/T/B/secret"}})
    assert settings.alerts.webhook is not None
    assert isinstance(settings.alerts.webhook[0].url, SecretStr)
    assert "secret" not in str(settings.alerts.webhook)


def test_several_webhooks_get_distinct_names_and_one_runbook_link() -> None:
    """Slack and PagerDuty at once; every sink links the same runbook document."""
    runbook = "https://wiki.example/role-monitor/detectors"
    settings = Settings(
        alerts={
            "runbook_base_url": runbook,
            "alertmanager": {"url": "http://127.0.0.1:9093"},
            "webhook": [
                {"url": "https://hooks.example/a", "format": "slack"},
                {"url": "https://events.example/b", "format": "pagerduty", "routing_key": "k"},
                {"url": "https://hooks.example/c", "format": "slack"},
                {"url": "https://hooks.example/d", "name": "soc"},
            ],
        }
    )
    metrics = Metrics()
    sinks = build_sinks(settings, metrics)
    names = [s.name for s in sinks]
    assert names == ["alertmanager", "webhook-slack", "webhook-pagerduty", "webhook-slack-2", "soc"]
    finding = make_finding()
    link = f"{runbook}#{finding.detector}"
    alertmanager, slack, pagerduty, _, generic = sinks
    assert isinstance(alertmanager, AlertmanagerSink)
    assert alertmanager.alert(finding)["annotations"]["runbook_url"] == link
    assert isinstance(slack, WebhookSink) and isinstance(pagerduty, WebhookSink)
    assert f"<{link}|runbook>" in json.dumps(slack.payload(finding))
    assert pagerduty.payload(finding)["links"] == [{"href": link, "text": "Runbook"}]
    assert isinstance(generic, WebhookSink) and generic.payload(finding)["runbook_url"] == link
    sample = metrics.registry.get_sample_value
    assert sample("role_monitor_alerts_total", {"sink": "soc", "outcome": "retried"}) == 0


def test_the_single_webhook_form_and_the_older_runbook_key_still_work() -> None:
    settings = Settings(
        alerts={
            "alertmanager": {"url": "http://127.0.0.1:9093", "runbook_base_url": "https://rb"},
            "webhook": {"url": "https://hooks.example/a", "format": "slack"},
        }
    )
    _, webhook = build_sinks(settings)
    assert webhook.name == "webhook"
    assert isinstance(webhook, WebhookSink)
    assert "<https://rb#" in json.dumps(webhook.payload(make_finding()))


def test_without_a_runbook_base_url_alerts_carry_no_link() -> None:
    settings = Settings(alerts={"alertmanager": {}, "webhook": {"url": "https://h/a"}})
    alertmanager, webhook = build_sinks(settings)
    assert isinstance(alertmanager, AlertmanagerSink) and isinstance(webhook, WebhookSink)
    assert "runbook_url" not in alertmanager.alert(make_finding())["annotations"]
    assert "runbook_url" not in webhook.payload(make_finding())


# ------------------------------------------------------------------------------------ retry


def test_delays_are_jittered_and_capped() -> None:
    policy = RetryPolicy(attempts=6, initial=0.5, maximum=2.0)
    delays = list(policy.delays(random.Random(7)))
    assert len(delays) == 5
    assert all(0 <= d <= min(2.0, 0.5 * 2**i) for i, d in enumerate(delays))


def test_transient_errors_are_retried_then_raised() -> None:
    calls: list[int] = []
    slept: list[float] = []

    def flaky() -> str:
        calls.append(1)
        raise TransientSinkError("503", retry_after=30)

    with pytest.raises(TransientSinkError):
        with_retries(flaky, RetryPolicy(attempts=3, maximum=1.5), sleep=slept.append)
    assert len(calls) == 3
    assert slept == [1.5, 1.5], "Retry-After is honoured but never beyond the cap"


def test_success_after_a_transient_error() -> None:
    outcomes = iter([TransientSinkError("reset"), "done"])

    def operation() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(operation, sleep=lambda _s: None) == "done"


def test_permanent_errors_are_not_retried() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise SinkError("HTTP 400")

    with pytest.raises(SinkError):
        with_retries(refused, sleep=lambda _s: None)
    assert calls == [1]


def test_json_lines_link_the_runbook_of_each_detector(tmp_path: Path) -> None:
    settings = Settings(
        base_dir=tmp_path,
        alerts={"jsonl": {"path": "findings.jsonl"}, "runbook_base_url": "https://wiki/rb"},
    )
    (sink,) = build_sinks(settings)
    first = make_finding()
    second = make_finding(dedup_key="external_account:abc", detector="external_account")
    sink.send([first, second])
    sink.flush()
    sink.close()
    lines = [json.loads(line) for line in (tmp_path / "findings.jsonl").read_bytes().splitlines()]
    assert [line.pop("runbook_url") for line in lines] == [
        "https://wiki/rb#break_glass_assumed",
        "https://wiki/rb#external_account",
    ]
    assert lines == [json.loads(first.to_json()), json.loads(second.to_json())]


def test_json_lines_carry_no_runbook_field_without_a_base(tmp_path: Path) -> None:
    settings = Settings(base_dir=tmp_path, alerts={"jsonl": {"path": "findings.jsonl"}})
    (sink,) = build_sinks(settings)
    finding = make_finding()
    sink.send([finding])
    sink.flush()
    sink.close()
    assert (tmp_path / "findings.jsonl").read_bytes() == finding.to_json() + b"\n"
