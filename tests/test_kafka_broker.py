"""Smoke tests for the local Kafka broker the suite runs against.

Why: every Kafka test trusts that this broker commits consumer offsets and keeps data across a
restart, as a production cluster does. If it did not, the monitor's "commit only after
delivery" guarantees could not be tested here at all.
"""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from plugins.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

CONSUME_TIMEOUT_S = 30.0


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Sends values keyed by themselves (spread over partitions) and waits for every ack."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [producer.send(topic, key=value, value=value) for value in values]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def new_consumer(bootstrap: str, topic: str, group: str) -> KafkaConsumer:
    """A group consumer that commits only when told to, as the monitor does."""
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


def consume(consumer: KafkaConsumer, count: int) -> list[bytes]:
    """Polls until ``count`` records arrived; fails rather than hangs when they do not."""
    values: list[bytes] = []
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    while len(values) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(record.value for record in records)
    assert len(values) == count, f"consumed {len(values)} of {count} records"
    return values


def consume_and_commit(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    """Reads ``count`` records in ``group`` and commits them synchronously."""
    consumer = new_consumer(bootstrap, topic, group)
    try:
        values = consume(consumer, count)
        consumer.commit()
    finally:
        consumer.close()
    return values


def committed_and_end_offsets(
    bootstrap: str, topic: str, group: str
) -> tuple[dict[int, int | None], dict[int, int]]:
    """The group's committed offset and the log end offset of every partition of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))
        ]
        committed = {tp.partition: consumer.committed(tp) for tp in partitions}
        end = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
    return committed, end


def messages(prefix: str, count: int) -> list[bytes]:
    return [f"{prefix}-{i}".encode() for i in range(count)]


def test_produce_consume_and_commit(kafka_broker: KafkaBroker, kafka_topic: str) -> None:
    """100 records go round trip, and the group's commits reach the log end on every partition."""
    sent = messages("smoke", 100)
    group = f"smoke-{uuid.uuid4().hex[:8]}"

    produce(kafka_broker.bootstrap, kafka_topic, sent)
    received = consume_and_commit(kafka_broker.bootstrap, kafka_topic, group, len(sent))

    assert sorted(received) == sorted(sent)
    committed, end = committed_and_end_offsets(kafka_broker.bootstrap, kafka_topic, group)
    assert committed == end
    assert sum(end.values()) == len(sent)
    assert len(end) > 1, "the topic should spread records over several partitions"


def test_records_and_commits_survive_a_restart(kafka_broker: KafkaBroker, kafka_topic: str) -> None:
    """After a broker restart, records and committed offsets are still there, on the same port."""
    before, after = messages("before", 20), messages("after", 5)
    kafka_broker.require_managed("restart")
    group = f"restart-{uuid.uuid4().hex[:8]}"
    bootstrap = kafka_broker.bootstrap
    produce(bootstrap, kafka_topic, before)
    consume_and_commit(bootstrap, kafka_topic, group, len(before))

    kafka_broker.stop()
    kafka_broker.start()

    assert kafka_broker.bootstrap == bootstrap
    produce(bootstrap, kafka_topic, after)
    resumed = consume_and_commit(bootstrap, kafka_topic, group, len(after))
    assert sorted(resumed) == sorted(after), "the group should resume from its commits"
    everything = consume_and_commit(bootstrap, kafka_topic, f"{group}-new", len(before + after))
    assert sorted(everything) == sorted(before + after)
