"""The webhook sink against a real local HTTP receiver: Slack, PagerDuty and generic payloads.

Hostile field values (200 KB user agents with control characters, Slack mentions and links,
backticks, quotes, newlines) must arrive escaped, capped and as valid JSON; the webhook URL and
routing key must never show in errors or logs.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from typing import Any

import pytest
from plugins.http_receiver import Receiver, Reply
from plugins.sample_findings import (
    SLACK_LINK,
    SLACK_MENTION,
    hostile_finding,
    make_finding,
)
from pydantic import SecretStr

from monitor.config.settings import ConfigError, Settings, WebhookSinkConfig
from monitor.findings import Severity
from monitor.metrics import Metrics
from monitor.sinks.base import SinkError
from monitor.sinks.delivery import Delivery, DeliveryFailed
from monitor.sinks.factory import build_sinks
from monitor.sinks.retry import RetryPolicy
from monitor.sinks.webhook import WebhookSink, pagerduty_dedup_key, slack_escape
from monitor.state.store import StateStore

FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.05)
SECRET_PATH = "/services/T0SECRET/B0SECRET/XoXoSeCrEtToKeN"
ROUTING_KEY = "R0UTINGKEY-0123456789abcdef0123456789"
#: Our own runbook link is the only Slack link a message may contain.
RUNBOOK = "https://wiki.example/role-monitor/detectors.md"
RUNBOOK_LINK = re.compile(r"<https://[^<>|\s]+#[a-z_]+\|runbook>")


def sink(receiver: Receiver, fmt: str, **kwargs: Any) -> WebhookSink:
    config = WebhookSinkConfig(
        url=SecretStr(receiver.url + SECRET_PATH),
        format=fmt,  # type: ignore[arg-type]
        routing_key=SecretStr(ROUTING_KEY) if fmt == "pagerduty" else None,
    )
    return WebhookSink(config, policy=FAST, **{"runbook_base": RUNBOOK, **kwargs})


def posted_json(receiver: Receiver, index: int = -1) -> dict[str, Any]:
    request = receiver.requests[index]
    assert request.headers["Content-Type"] == "application/json"
    document: dict[str, Any] = json.loads(request.body)  # valid JSON or this raises
    return document


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for block in message["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        texts.extend(f["text"] for f in block.get("fields", []))
        texts.extend(e["text"] for e in block.get("elements", []))
    return texts


# ------------------------------------------------------------------------------------- Slack


def test_slack_message_structure(http_receiver: Receiver) -> None:
    finding = make_finding()
    sink(http_receiver, "slack").send([finding])

    assert [r.path for r in http_receiver.requests] == [SECRET_PATH]
    message = posted_json(http_receiver)
    assert message["text"] == "[CRITICAL] RoleMonitorBreakGlassAssumed (role account 222222222222)"
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    header, title, details, context = message["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "CRITICAL: RoleMonitorBreakGlassAssumed",
            "emoji": False,
        },
    }
    assert title["text"]["text"] == finding.title
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in details["fields"]}
    assert fields["*Principal*"] == "`arn:aws:iam::111111111111:user/bob`"
    assert fields["*Role*"] == "`arn:aws:iam::222222222222:role/BreakGlassAdmin`"
    assert fields["*Source IP*"] == "`198.51.100.77`"
    assert len(details["fields"]) <= 10  # Slack's limit per section
    assert RUNBOOK_LINK.search(context["elements"][0]["text"])
    for block in (title, *details["fields"], *context["elements"]):
        part = block["text"] if isinstance(block.get("text"), dict) else block
        assert part["type"] == "mrkdwn" and part["verbatim"] is True


def test_slack_hostile_values_are_inert(http_receiver: Receiver) -> None:
    sink(http_receiver, "slack").send([hostile_finding()])

    raw = http_receiver.requests[0].body
    assert len(raw) < 20_000, "a 200 KB user agent must not make a 200 KB message"
    message = posted_json(http_receiver)
    assert SLACK_MENTION.encode() not in raw and SLACK_LINK.encode() not in raw
    assert b"<@U0123ABC>" not in raw
    assert message["text"] == "[CRITICAL] RoleMonitorBreakGlassAssumed (role account unknown)"
    for text in mrkdwn_texts(message):
        outside_our_link = RUNBOOK_LINK.sub("", text)
        assert "<" not in outside_our_link and ">" not in outside_our_link, text
        assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, f"unescaped & in {text!r}"
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", text), "control characters"
    header, title, details, _context = message["blocks"]
    assert len(header["text"]["text"]) <= 150
    assert len(title["text"]["text"]) <= 3000
    for item in details["fields"]:
        _label, value = item["text"].split("\n", 1)
        assert len(item["text"]) <= 2000
        # Inline code with no backtick inside: the value cannot close it and inject markup.
        assert value == "_none_" or (value.count("`") == 2 and value[0] == value[-1] == "`")
        assert "\n" not in value, "a newline in a value would break out of the code span"
    user_agent = next(f for f in details["fields"] if f["text"].startswith("*User agent*"))
    assert "…" in user_agent["text"], "the 200 KB user agent is visibly cut"


def test_slack_escape_caps_before_escaping() -> None:
    """Escaping after capping never cuts an entity in half (``&am…``)."""
    text = slack_escape("&" * 1000, limit=10)
    assert text == "&amp;" * 9 + "…"


# --------------------------------------------------------------------------------- PagerDuty


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, "critical"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "info"),
        (Severity.INFO, "info"),
    ],
)
def test_pagerduty_event(http_receiver: Receiver, severity: Severity, expected: str) -> None:
    finding = make_finding(severity=severity)
    sink(http_receiver, "pagerduty").send([finding])

    event = posted_json(http_receiver)
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == finding.dedup_key
    payload = event["payload"]
    assert payload == {
        "summary": finding.title,
        "source": "aws-account-222222222222",
        "severity": expected,
        "timestamp": "2026-11-01T09:15:00Z",
        "component": "BreakGlassAdmin",
        "group": "222222222222",
        "class": "break_glass_assumed",
        "custom_details": json.loads(finding.to_json()),
    }
    assert event["links"][0]["href"].endswith("#break_glass_assumed")


def test_pagerduty_hostile_values_are_capped(http_receiver: Receiver) -> None:
    finding = hostile_finding(title="x" * 5000 + "\n" + SLACK_MENTION)
    sink(http_receiver, "pagerduty").send([finding])

    raw = http_receiver.requests[0].body
    assert len(raw) < 100_000
    payload = posted_json(http_receiver)["payload"]
    assert len(payload["summary"]) <= 1024
    assert payload["group"] == "unknown"
    details = payload["custom_details"]
    assert len(details["user_agent"]) <= 1024
    assert "\n" not in details["user_agent"] and "\x1b" not in details["user_agent"]
    assert len(details["evidence"]["nested"]["deeper"]) <= 50


def test_pagerduty_dedup_key_fits_its_limit() -> None:
    long_key = "external_account:" + "a" * 400
    hashed = pagerduty_dedup_key(long_key)
    assert len(hashed) <= 255 and hashed == pagerduty_dedup_key(long_key)
    assert pagerduty_dedup_key("short:key") == "short:key"


def test_pagerduty_requires_a_routing_key() -> None:
    config = WebhookSinkConfig(url=SecretStr("http://127.0.0.1:1/x"), format="pagerduty")
    with pytest.raises(ConfigError, match="routing_key"):
        WebhookSink(config)


# ----------------------------------------------------------------------------------- generic


def test_generic_posts_the_finding_json(http_receiver: Receiver) -> None:
    finding = make_finding()
    sink(http_receiver, "generic").send([finding, make_finding(event_id="second")])

    assert len(http_receiver.requests) == 2
    runbook = {"runbook_url": f"{RUNBOOK}#{finding.detector}"}
    assert posted_json(http_receiver, 0) == {**json.loads(finding.to_json()), **runbook}
    assert posted_json(http_receiver, 1)["event_id"] == "second"


def test_generic_hostile_values_stay_valid_bounded_json(http_receiver: Receiver) -> None:
    sink(http_receiver, "generic").send([hostile_finding()])
    document = posted_json(http_receiver)
    assert len(document["user_agent"]) <= 1024
    assert document["detector"] == "break_glass_assumed"


# ------------------------------------------------------------------- retries and secrecy


def test_transient_failures_are_retried(http_receiver: Receiver) -> None:
    http_receiver.reply(Reply(503), Reply(429, headers={"Retry-After": "0"}))
    retries: list[SinkError] = []
    sink(http_receiver, "generic", on_retry=retries.append).send([make_finding()])
    assert [r.path for r in http_receiver.requests] == [SECRET_PATH] * 3
    assert len(retries) == 2


def test_permanent_failure_is_not_retried(http_receiver: Receiver) -> None:
    http_receiver.reply(Reply(400, body=b"invalid_payload"))
    with pytest.raises(SinkError, match="HTTP 400: invalid_payload"):
        sink(http_receiver, "slack").send([make_finding()])
    assert len(http_receiver.requests) == 1


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in (SECRET_PATH, "XoXoSeCrEtToKeN", "T0SECRET", ROUTING_KEY):
            assert secret not in text, f"secret {secret!r} leaked into: {text[:300]!r}"


def test_secrets_never_in_errors_or_logs(
    http_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The receiver echoes the request path and routing key back, as some proxies do.
    echo = f"bad request to {SECRET_PATH} with key {ROUTING_KEY}".encode()
    http_receiver.default = Reply(500, body=echo)
    pagerduty = sink(http_receiver, "pagerduty")
    with pytest.raises(SinkError) as failure:
        pagerduty.send([make_finding()])
    message = str(failure.value)
    assert message.startswith(f"{http_receiver.url}/***: HTTP 500")
    assert failure.value.__cause__ is None and failure.value.__context__ is None
    assert len(http_receiver.requests) == FAST.attempts
    assert_no_secrets(message, caplog.text, repr(pagerduty))


def test_secrets_never_in_connection_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = WebhookSinkConfig(
        url=SecretStr(f"http://127.0.0.1:{port}{SECRET_PATH}"),
        format="pagerduty",
        routing_key=SecretStr(ROUTING_KEY),
    )
    with pytest.raises(SinkError) as failure:
        WebhookSink(config, policy=FAST).send([make_finding()])
    assert str(failure.value).startswith(f"http://127.0.0.1:{port}/***: ")
    assert_no_secrets(str(failure.value), caplog.text)


@pytest.mark.parametrize(
    "url", ["hooks.example/T0SECRET/XoXoSeCrEtToKeN", "file:///etc/XoXoSeCrEtToKeN"]
)
def test_unusable_urls_are_refused_without_showing_them(url: str) -> None:
    config = WebhookSinkConfig(url=SecretStr(url), format="generic")
    with pytest.raises(SinkError, match="only http and https") as failure:
        WebhookSink(config, policy=FAST).send([make_finding()])
    assert_no_secrets(str(failure.value))


def test_a_down_webhook_back_pressures_delivery_and_shows_in_metrics(
    http_receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the factory and Delivery, as ``run`` drives it: fail, count, then recover."""
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        alerts={"webhook": {"url": http_receiver.url + SECRET_PATH, "format": "slack"}}
    )
    metrics = Metrics()
    state = StateStore(":memory:")
    delivery = Delivery(build_sinks(settings, metrics), state, metrics)
    http_receiver.default = Reply(503)
    finding = make_finding()

    with pytest.raises(DeliveryFailed, match="webhook"):
        delivery.deliver([finding])
    value = metrics.registry.get_sample_value
    assert value("role_monitor_alerts_total", {"sink": "webhook", "outcome": "failed"}) == 1
    assert value("role_monitor_alerts_total", {"sink": "webhook", "outcome": "retried"}) == 2
    assert value("role_monitor_sink_up", {"sink": "webhook"}) == 0

    http_receiver.default = Reply(200)
    assert delivery.drain() == 1  # not lost: the outbox still owes it, the retry delivers it
    assert value("role_monitor_alerts_total", {"sink": "webhook", "outcome": "delivered"}) == 1
    assert value("role_monitor_sink_up", {"sink": "webhook"}) == 1
    assert_no_secrets(caplog.text)


@pytest.mark.parametrize("kind", ["slack", "alertmanager"])
def test_a_flaky_receiver_gets_each_finding_once(http_receiver: Receiver, kind: str) -> None:
    """Issue 12, point 4: every fifth POST answered 503 and no in-send retry, so the batch is
    retried by the caller until it goes through; no accepted finding may be sent again."""
    from monitor.config.settings import AlertmanagerSinkConfig
    from monitor.sinks.alertmanager import BATCH, AlertmanagerSink
    from monitor.sinks.retry import NO_RETRY

    http_receiver.fail_every = 5
    findings = [
        make_finding(dedup_key=f"k{n}", event_id=f"e{n}", assumption_id=f"a{n}") for n in range(200)
    ]
    if kind == "slack":
        target: Any = sink(http_receiver, "slack")
        target._policy = NO_RETRY
    else:
        config = AlertmanagerSinkConfig(url=http_receiver.url)
        target = AlertmanagerSink(config, policy=NO_RETRY)
    state = StateStore(":memory:")
    delivery = Delivery([target], state, Metrics())
    for _attempt in range(400):
        try:
            delivery.deliver(findings)
            break
        except DeliveryFailed:
            continue
    if kind == "slack":
        titles = [json.loads(body)["text"] + body.decode() for body in http_receiver.accepted]
        assert len(titles) == len(set(titles)) == 200
    else:
        alerts = [a for body in http_receiver.accepted for a in json.loads(body)]
        keys = [a["labels"]["fingerprint"] + a["annotations"]["event_id"] for a in alerts]
        assert len(keys) == len(set(keys)) == 200
        assert len(http_receiver.accepted) <= 200 // BATCH + 1


@pytest.mark.parametrize("fmt", ["slack", "pagerduty", "generic"])
def test_every_post_carries_the_finding_id_as_idempotency_key(
    http_receiver: Receiver, fmt: str
) -> None:
    """The same finding sent again (the one in flight at a crash) carries the same key."""
    finding = make_finding()
    target = sink(http_receiver, fmt)
    target.send([finding])
    target.send([finding])
    keys = [request.headers["Idempotency-Key"] for request in http_receiver.requests]
    assert keys == [finding.finding_id] * 2
