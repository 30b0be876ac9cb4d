"""The Kafka alerts sink against the real local broker: keyed by dedup key, acks=all, no loss."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from kafka import KafkaConsumer
from kafka_service import wait_until
from plugins.kafka_broker import KafkaBroker
from plugins.sample_findings import make_finding

from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.sinks.base import SinkError
from monitor.sinks.factory import build_sinks
from monitor.sinks.kafka_sink import KafkaSink
from monitor.sources.kafka_client import RECONNECT_BACKOFF_MAX_MS

pytestmark = pytest.mark.kafka


def consume(bootstrap: str, topic: str, expected: int) -> list[Any]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        records: list[Any] = []
        for record in consumer:
            records.append(record)
            if len(records) >= expected:
                break
        return records
    finally:
        consumer.close()


def test_findings_are_produced_keyed_by_dedup_key(
    kafka_broker: KafkaBroker, kafka_topic: str
) -> None:
    first = make_finding()
    second = make_finding(dedup_key="external_account:abc", detector="external_account")
    settings = Settings(
        kafka={"bootstrap_servers": kafka_broker.bootstrap},
        alerts={"kafka": {"topic": kafka_topic}},
    )
    (sink,) = build_sinks(settings)
    assert sink.name == "kafka"
    sink.send([first, second])
    sink.flush()
    sink.close()

    records = consume(kafka_broker.bootstrap, kafka_topic, 2)
    by_key = {r.key.decode(): r for r in records}
    assert set(by_key) == {first.dedup_key, second.dedup_key}
    assert json.loads(by_key[first.dedup_key].value) == json.loads(first.to_json())
    assert by_key[second.dedup_key].value == second.to_json()


def test_repeats_of_a_finding_share_a_partition(
    kafka_broker: KafkaBroker, kafka_topic: str
) -> None:
    """Same key → same partition → a consumer keeping the latest per key sees one finding."""
    sink = KafkaSink(kafka_topic, {"bootstrap_servers": kafka_broker.bootstrap})
    findings = [make_finding(event_id=f"e{i}") for i in range(5)]
    sink.send(findings)
    sink.flush()
    sink.close()
    records = consume(kafka_broker.bootstrap, kafka_topic, 5)
    assert len(records) == 5
    assert len({r.partition for r in records}) == 1


def test_unreachable_broker_is_a_sink_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {"bootstrap_servers": f"127.0.0.1:{port}", "bootstrap_timeout_ms": 1000}
    sink = KafkaSink("alerts", options, flush_timeout=2.0)
    with pytest.raises(SinkError, match="kafka"):
        sink.send([make_finding()])
    sink.close()


def test_records_failed_at_flush_are_produced_again_after_the_broker_returns(
    kafka_broker: KafkaBroker, kafka_topic: str
) -> None:
    """The caller retries flush(), not send(): a failed record must survive in the sink.

    Deterministic: the record is queued while the broker is already down (its metadata is
    cached), so it cannot reach the broker before the outage whatever the machine's load, and
    is never half-sent; after the restart the test waits for the flush to succeed (the
    consumer's back-pressure loop), not for a number of attempts.
    """
    kafka_broker.require_managed("restart")
    options = {
        "bootstrap_servers": kafka_broker.bootstrap,
        "request_timeout_ms": 1000,
        "delivery_timeout_ms": 3000,
        # As the service's client options: find the returned broker within a second or two.
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    sink = KafkaSink(kafka_topic, options, flush_timeout=10.0)
    sink.send([make_finding(event_id="before")])
    sink.flush()  # connected, metadata known
    finding = make_finding(dedup_key="break_glass_assumed:during-outage")
    kafka_broker.stop()
    try:
        sink.send([finding])  # queued: the topic's metadata is cached
        with pytest.raises(SinkError, match="not acknowledged"):
            sink.flush()
    finally:
        kafka_broker.start()
    batch = [make_finding(event_id="before"), finding]  # retried whole, as Delivery does
    wait_until(lambda: _flushed(sink, batch), 120, "the sink to deliver after the broker returned")
    sink.send([finding])  # a neighbour failed: the whole batch comes once more
    sink.flush()
    sink.close()
    keys = [r.key.decode() for r in consume(kafka_broker.bootstrap, kafka_topic, 10)]
    assert keys.count(finding.dedup_key) == 1, "acknowledged once, produced once"
    assert len(keys) == 2


def _flushed(sink: KafkaSink, batch: list[Finding]) -> bool:
    try:
        sink.send(batch)
        sink.flush()
    except SinkError:
        return False
    return True


def test_kafka_findings_link_their_runbook_when_a_base_is_set(
    kafka_broker: KafkaBroker, kafka_topic: str
) -> None:
    finding = make_finding()
    settings = Settings(
        kafka={"bootstrap_servers": kafka_broker.bootstrap},
        alerts={"kafka": {"topic": kafka_topic}, "runbook_base_url": "https://wiki/rb"},
    )
    (sink,) = build_sinks(settings)
    sink.send([finding])
    sink.flush()
    sink.close()

    (record,) = consume(kafka_broker.bootstrap, kafka_topic, 1)
    document = json.loads(record.value)
    assert document.pop("runbook_url") == "https://wiki/rb#break_glass_assumed"
    assert document == json.loads(finding.to_json())
    assert Finding.model_validate_json(record.value) == finding  # still reads as the finding
