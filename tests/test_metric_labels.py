"""No metric label value is attacker-controlled: hostile records in, only bounded labels out.

Every caller-controlled field of the records below carries a canary token. After the records
(and the bundled sample) go through the real pipeline and delivery, every label value of every
sample in the registry must be (a) free of the canary and (b) in a fixed allowed set for its
label name. A label name this test does not know fails it: a new label needs its bound argued
here first.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assume_role, iam_user, varied
from prometheus_client import CollectorRegistry

from detectors import registry
from monitor import __version__
from monitor.config.settings import AlertsConfig, JsonlSinkConfig, load_settings
from monitor.intake.normalize import IN_SCOPE
from monitor.inventory.catalog import LookupStatus
from monitor.metrics import (
    AGE_BUCKETS,
    ASSUMPTION_CATEGORIES,
    DEAD_LETTER_REASONS,
    RECORD_OUTCOMES,
    SEVERITIES,
    Metrics,
)
from monitor.service.app import build_monitor
from monitor.sinks.delivery import Delivery
from monitor.sinks.factory import build_sinks
from monitor.sources.files import expand, read_messages
from monitor.state.store import TABLES

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CANARY = "ZZCANARYZZ"
HOSTILE = f'{CANARY}<!channel>"\n\x00\u202e`${{jndi:x}}{CANARY}' + "A" * 300
HOSTILE_ACCOUNT = f"9999{CANARY}"

BASE_RECORD = assume_role(
    "arn:aws:iam::222222222222:role/BreakGlassAdmin",
    {**iam_user("111111111111", "bob"), "principalId": "AIDAEXAMPLE"},
    event_id="00000000-0000-0000-0000-0000000000f0",
    time="2026-11-01T09:15:00Z",
    response={},
    awsRegion="us-east-1",
    sourceIPAddress="198.51.100.77",
    userAgent="aws-cli/2.15.30",
)


def record(number: int, **changes: Any) -> dict[str, Any]:
    """A variant of BASE_RECORD with its own event id; ``a__b`` keys set nested fields."""
    return varied(BASE_RECORD, eventID=f"hostile-{number}-{CANARY}", **changes)


def hostile_records() -> list[dict[str, Any]]:
    """Every field an attacker can influence, one variation at a time and all at once."""
    return [
        record(1, userAgent=HOSTILE, sourceIPAddress=HOSTILE),
        record(2, requestParameters__roleSessionName=HOSTILE),
        record(3, requestParameters__roleArn=f"arn:aws:iam::{HOSTILE_ACCOUNT}:role/{HOSTILE}"),
        record(4, requestParameters__roleArn=f"arn:aws:iam::444455556666:role/{HOSTILE}"),
        record(5, userIdentity__type=HOSTILE, userIdentity__accountId=HOSTILE_ACCOUNT),
        record(6, userIdentity__arn=HOSTILE, userIdentity__principalId=HOSTILE),
        record(7, userIdentity={"type": "AWSAccount", "accountId": "444455556666"}),
        record(8, errorCode=HOSTILE, errorMessage=HOSTILE),
        record(9, errorCode="AccessDenied", errorMessage=f"not authorized {HOSTILE}"),
        record(10, recipientAccountId=HOSTILE_ACCOUNT, awsRegion=HOSTILE),
        record(
            11,
            eventName="AssumeRoleWithWebIdentity",
            userIdentity={"type": "WebIdentityUser", "identityProvider": HOSTILE},
            requestParameters={
                "roleArn": "arn:aws:iam::222222222222:role/orders-api-lambda",
                "roleSessionName": HOSTILE,
            },
        ),
        record(
            12,
            eventName="AssumeRoleWithSAML",
            userIdentity={"type": "SAMLUser", "principalId": HOSTILE, "identityProvider": HOSTILE},
            requestParameters={
                "roleArn": "arn:aws:iam::222222222222:role/BreakGlassAdmin",
                "principalArn": f"arn:aws:iam::222222222222:saml-provider/{HOSTILE}",
            },
        ),
        record(13, eventName="AssumeRoot", requestParameters={"targetPrincipal": HOSTILE}),
        record(14, eventName=f"AssumeRole{CANARY}"),
        record(15, eventSource=f"sts.amazonaws.com{CANARY}"),
        record(16, eventTime=HOSTILE),
        record(17, userIdentity=HOSTILE),
        record(18, requestParameters=HOSTILE, responseElements=[HOSTILE]),
        {f"{CANARY}key": HOSTILE},
    ]


def payloads() -> Iterator[bytes]:
    """Hostile records in every envelope, plus undecodable input naming the canary."""
    records = hostile_records()
    yield json.dumps({"Records": records}).encode()
    for item in records:
        yield json.dumps(item).encode()
        event = {"detail-type": "AWS API Call via CloudTrail", "source": CANARY, "detail": item}
        yield json.dumps(event).encode()
    logs = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": HOSTILE}]}
    yield base64.b64encode(gzip.compress(json.dumps(logs).encode()))
    yield f"{{not json {HOSTILE}".encode()
    yield gzip.compress(HOSTILE.encode())[:20]
    yield json.dumps({"detail-type": HOSTILE}).encode()
    yield ("[" * 200 + "]" * 200).encode()


def allowed_values() -> dict[str, set[str]]:
    """Label name → every value it may take."""
    lookup_outcomes = {status.value for status in LookupStatus}
    iam_outcomes = {"hit", "miss", "not_found", "error", "throttled"}
    return {
        "outcome": {*RECORD_OUTCOMES, "delivered", "failed", "retried"}
        | lookup_outcomes
        | iam_outcomes,
        "event_name": set(IN_SCOPE),
        "result": {"success", "failure"},
        "category": set(ASSUMPTION_CATEGORIES),
        "detector": set(registry.by_id()),
        "severity": set(SEVERITIES),
        "reason": {*DEAD_LETTER_REASONS, "suppressed", "merged"},
        "sink": {"jsonl", "kafka", "alertmanager", "sns", "webhook"},
        "source": {"snapshot", "iam", "stream", "none"},
        "table": set(TABLES),
        "le": {f"{float(b)}" for b in AGE_BUCKETS} | {"+Inf"} | PROCESSING_BUCKETS,
        "topic": {"cloudtrail"},
        "partition": {"0"},
        "version": {__version__},
    }


PROCESSING_BUCKETS = {
    str(float(b)) for b in (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
}


@pytest.fixture
def metrics(tmp_path: Path) -> Iterator[Metrics]:
    """A registry after the sample stream and every hostile payload went through the monitor."""
    settings = load_settings(EXAMPLES / "config.yaml")
    alerts = AlertsConfig(jsonl=JsonlSinkConfig(path=str(tmp_path / "findings.jsonl")))
    settings = settings.model_copy(update={"alerts": alerts})
    metrics = Metrics(registry=CollectorRegistry())
    monitor = build_monitor(settings, state_path=":memory:", metrics=metrics)
    metrics.watch_lag(lambda: [("cloudtrail", 0, 0)])
    delivery = Delivery(build_sinks(settings, metrics), monitor.state, metrics)
    samples = [m.payload for s in expand([str(EXAMPLES / "stream")]) for m in read_messages(s)]
    try:
        for payload in [*samples, *payloads()]:
            delivery.deliver(monitor.pipeline.process(payload).findings)
        delivery.flush()
        assert monitor.pipeline.stats.rejected, "the hostile payloads include undecodable ones"
        assert monitor.pipeline.stats.processed > 10, "most hostile records are in scope"
        yield metrics  # read while the state store is open (its sizes are scraped)
    finally:
        delivery.close()
        monitor.close()


def test_every_label_value_is_bounded(metrics: Metrics) -> None:
    allowed = allowed_values()
    seen: set[tuple[str, str]] = set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            for label, value in sample.labels.items():
                assert CANARY not in value, f"{sample.name}{{{label}={value[:80]!r}}}"
                assert label in allowed, f"{sample.name}: label {label!r} has no known bound"
                assert value in allowed[label], f"{sample.name}{{{label}={value[:80]!r}}}"
                seen.add((label, value))
    # The run exercised the labels that matter (not a vacuous pass).
    assert {"category", "event_name", "detector", "reason", "sink"} <= {k for k, _ in seen}
