"""One event, one page: paging sinks get one notification per event, JSON lines keep each finding.

The findings come from golden cases replayed through the real pipeline (a first-seen pair that
is also a new chain; a new principal using break glass: three detectors on one call), delivered
by :class:`Delivery` to real receivers (a local HTTP server, Debian's Alertmanager) next to an
in-memory sink standing for JSON lines.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import ListSink
from plugins.http_receiver import Receiver, Reply
from plugins.prometheus_stack import alertmanager, get_json
from plugins.sample_findings import make_finding
from pydantic import SecretStr
from test_detector_cases import CASES, load_case, replay
from test_sns_sink import REGION, aws_credentials, received, subscribed_topic

from monitor.config.settings import (
    AlertmanagerSinkConfig,
    Settings,
    SnsSinkConfig,
    WebhookSinkConfig,
)
from monitor.findings import Finding, Severity
from monitor.metrics import Metrics
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.delivery import Delivery, DeliveryFailed
from monitor.sinks.factory import build_sinks
from monitor.sinks.pages import one_per_event, page_key, pages
from monitor.sinks.retry import NO_RETRY
from monitor.sinks.sns import SnsSink
from monitor.sinks.webhook import WebhookSink
from monitor.state.store import StateStore

__all__ = ["aws_credentials", "subscribed_topic"]  # moto fixtures, used by the SNS test

CHAIN = "role_chain_cross_account/new_pair_after_learning_positive.json"
BREAK_GLASS = "break_glass_principal_first_seen/new_principal_positive.json"


def case_findings(name: str) -> list[Finding]:
    """The findings of the case's event on which most detectors fired."""
    case = load_case(CASES / name)
    found = replay(case.get("config", {}), case["records"])
    events = Counter(f.assumption_id for f in found)
    busiest = events.most_common(1)[0][0]
    return [f for f in found if f.assumption_id == busiest]


def webhook(receiver: Receiver, fmt: str) -> WebhookSink:
    config = WebhookSinkConfig(
        url=SecretStr(receiver.url + "/hook"),
        format=fmt,  # type: ignore[arg-type]
        routing_key=SecretStr("R0UTINGKEY") if fmt == "pagerduty" else None,
    )
    return WebhookSink(config, policy=NO_RETRY)


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(body) for body in receiver.accepted]


# --------------------------------------------------------------------------------- grouping


def test_findings_of_one_event_become_one_page_at_the_highest_severity() -> None:
    found = case_findings(BREAK_GLASS)
    assert len(found) == 3
    (page,) = one_per_event(found)
    assert page.severity == Severity.CRITICAL
    assert page.detector == "break_glass_assumed", "routing follows the most severe reason"
    reasons = page.evidence["event_findings"]
    assert [r["detector"] for r in reasons] == [
        "break_glass_assumed",
        "break_glass_principal_first_seen",
        "cross_account_first_seen",
    ]
    assert {r["dedup_key"] for r in reasons} == {f.dedup_key for f in found}
    assert page.evidence["event_findings_count"] == 3
    assert "also on this event: break_glass_principal_first_seen, cross_account_first_seen" in (
        page.title
    )
    assert page.event_id == found[0].event_id and page.assumption_id == found[0].assumption_id


def test_a_page_id_is_stable_and_names_its_members() -> None:
    found = case_findings(CHAIN)
    assert len(found) == 2
    (page,) = one_per_event(found)
    (again,) = one_per_event(list(reversed(found)))
    assert page.dedup_key == again.dedup_key == page_key(found)
    assert page.dedup_key.startswith("event:")
    assert page_key(found[:1]) != page.dedup_key, "other members, other page"


def test_a_finding_alone_on_its_event_is_sent_as_it_is() -> None:
    first = make_finding()
    other = make_finding(event_id="e2", assumption_id="a2", dedup_key="k2")
    assert one_per_event([first, other]) == [first, other]
    assert one_per_event([first])[0] is first


def test_the_paging_sinks_declare_it_and_the_others_do_not() -> None:
    settings = Settings(
        alerts={
            "jsonl": {"path": "-"},
            "alertmanager": {"url": "http://127.0.0.1:9"},
            "webhook": {"url": "http://127.0.0.1:9/h", "format": "slack"},
            "sns": {"topic_arn": "arn:aws:sns:eu-west-1:111111111111:t"},
        }
    )
    built = {sink.name: pages(sink) for sink in build_sinks(settings)}
    assert built == {"jsonl": False, "alertmanager": True, "webhook": True, "sns": True}


# ------------------------------------------------------------------- delivery, real receivers


@pytest.mark.parametrize("fmt", ["slack", "pagerduty", "generic"])
def test_one_post_per_event_and_every_finding_in_json_lines(
    http_receiver: Receiver, fmt: str
) -> None:
    found = case_findings(CHAIN)
    lines = ListSink()
    delivery = Delivery([lines, webhook(http_receiver, fmt)], StateStore(":memory:"), Metrics())
    assert delivery.deliver(found) == 2
    assert lines.findings == found, "JSON lines keep each finding"
    assert len({f.assumption_id for f in lines.findings}) == 1, "linked by their event"
    (body,) = bodies(http_receiver)
    text = json.dumps(body)
    for finding in found:
        assert finding.detector in text, f"{fmt}: reason {finding.detector} missing"
    if fmt == "pagerduty":
        assert body["dedup_key"] == page_key(found)
        assert body["payload"]["custom_details"]["evidence"]["event_findings_count"] == 2
    if fmt == "slack":
        reasons = [b for b in body["blocks"] if "Reason: " in b.get("text", {}).get("text", "")]
        assert len(reasons) == 1 and reasons[0]["text"]["text"].count("Reason: ") == 2


def test_a_failed_page_is_retried_as_the_same_page_and_sent_once(http_receiver: Receiver) -> None:
    found = case_findings(BREAK_GLASS)
    lines = ListSink()
    delivery = Delivery(
        [lines, webhook(http_receiver, "pagerduty")], StateStore(":memory:"), Metrics()
    )
    http_receiver.reply(Reply(503))
    with pytest.raises(DeliveryFailed):
        delivery.deliver(found)
    assert delivery.deliver(found) == 3
    keys = [json.loads(r.body)["dedup_key"] for r in http_receiver.requests]
    assert len(keys) == 2 and keys[0] == keys[1], "the retry is the same page"
    assert len(http_receiver.accepted) == 1
    assert json.loads(http_receiver.accepted[0])["payload"]["severity"] == "critical"
    assert len(lines.findings) == 3, "JSON lines got each finding once"


@pytest.mark.prom
def test_alertmanager_gets_one_alert_listing_every_reason_and_a_restart_adds_none(
    tmp_path: Path,
) -> None:
    found = case_findings(BREAK_GLASS)
    with alertmanager(tmp_path / "alertmanager") as url:
        for _restart in range(2):  # fresh state: everything is sent again, as after a crash
            sink = AlertmanagerSink(AlertmanagerSinkConfig(url=url))
            Delivery([sink], StateStore(":memory:"), Metrics()).deliver(found)
        (alert,) = get_json(f"{url}/api/v2/alerts")
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["detector"] == "break_glass_assumed"
    description = alert["annotations"]["description"].splitlines()
    reasons = [line for line in description if line.startswith("Reason: ")]
    assert [line.split()[1] for line in reasons] == [
        "break_glass_assumed",
        "break_glass_principal_first_seen",
        "cross_account_first_seen",
    ]


def test_hostile_reasons_stay_inert_in_slack(http_receiver: Receiver) -> None:
    """Every member's title reaches the page: each is escaped like the title itself."""
    from plugins.sample_findings import SLACK_LINK, SLACK_MENTION, hostile_finding

    bad = hostile_finding(detector="cross_account_first_seen", severity=Severity.MEDIUM)
    (page,) = one_per_event([make_finding(), bad])
    webhook(http_receiver, "slack").send([page])
    raw = http_receiver.accepted[0].decode()
    assert SLACK_MENTION not in raw and SLACK_LINK not in raw
    assert len(raw) < 40_000, "a 200 KB user agent does not travel in the reasons"


@pytest.mark.aws
def test_sns_publishes_one_message_per_event(
    moto_server: str, subscribed_topic: tuple[str, str]
) -> None:
    topic_arn, queue_url = subscribed_topic
    found = case_findings(BREAK_GLASS)
    sink = SnsSink(SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION))
    Delivery([sink], StateStore(":memory:"), Metrics()).deliver(found)
    sink.close()
    (envelope,) = received(moto_server, queue_url, 2)  # waits for a second, which never comes
    assert envelope["Subject"].startswith("[CRITICAL] ")
    message = json.loads(envelope["Message"])
    assert message["evidence"]["event_findings_count"] == 3
    assert message["dedup_key"] == page_key(found)
