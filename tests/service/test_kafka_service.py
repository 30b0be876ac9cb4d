"""The Kafka service in-process against the real broker: back-pressure, poison, re-reads.

In-process so a test can hold the sink or the offset commit in a chosen state (down, failing)
and look at the consumer while it waits; the broker, group and offsets are still real.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO
from kafka import KafkaConsumer
from kafka.errors import KafkaTimeoutError
from kafka_service import offsets, read_topic, send, wait_until
from kafka_stream import ORG_ACCOUNT, Message, expected_findings, sts_stream
from plugins.kafka_broker import KafkaBroker

from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.service.kafka_service import KafkaService
from monitor.sinks.base import SinkError
from monitor.sinks.delivery import Delivery, finding_id
from monitor.sources.kafka_client import consumer_options

pytestmark = pytest.mark.kafka


class SwitchSink:
    """A sink that refuses everything while ``down`` is set, and counts its attempts."""

    name = "switch"

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.attempts = 0
        self.findings: list[Finding] = []

    def send(self, findings: Sequence[Finding]) -> None:
        self.attempts += 1
        if self.down:
            raise SinkError("switched off")
        self.findings.extend(findings)

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def ids(self) -> list[str]:
        return [finding_id(f) for f in self.findings]


def service_settings(bootstrap: str, topic: str, group: str, **kafka: Any) -> Settings:
    return Settings(
        base_dir=REPO,
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": [topic],
            "group_id": group,
            "dead_letter_topic": f"{topic}.dlq",
            "commit_interval": "0.2s",
            **kafka,
        },
        organization={"accounts": [ORG_ACCOUNT]},
        alerts={"retry_initial": "0.1s", "retry_max": "0.4s"},
    )


@contextmanager
def running(settings: Settings, sink: Any, state: Path, **kwargs: Any) -> Iterator[KafkaService]:
    """A KafkaService on a thread; stopped (and checked to stop) when the block ends."""
    monitor = build_monitor(settings, state_path=str(state))
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    service = KafkaService(settings, monitor, delivery, **kwargs)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.request_stop()
        thread.join(timeout=15)
        monitor.close()
        assert not thread.is_alive(), "the service did not stop"


@pytest.fixture
def group(request: pytest.FixtureRequest) -> str:
    return f"svc-{abs(hash(request.node.name)) % 10**8}"


def test_failing_sink_pauses_retries_and_delivers_after_recovery(
    kafka_broker: KafkaBroker, kafka_topic: str, group: str, tmp_path: Path
) -> None:
    """Sink down: the findings wait in the outbox (their offsets may be committed: they are
    durable), partitions are paused, retries back off; then all delivered, each once."""
    messages = sts_stream(0, 60)
    expected = set(expected_findings(messages))
    send(kafka_broker.bootstrap, kafka_topic, messages)
    sink = SwitchSink(down=True)
    settings = service_settings(kafka_broker.bootstrap, kafka_topic, group)
    with running(settings, sink, tmp_path / "state.db") as service:
        service.lag.refresh_every = 0.1
        wait_until(lambda: sink.attempts >= 4, 30, "retries against the failing sink")
        assert sink.findings == [] and service.delivery.pending
        assert service.consumer.paused(), "nothing more is read while the outbox is owed"
        assert service.backoff.failures >= 3
        assert (
            service.metrics.registry.get_sample_value("role_monitor_sink_up", {"sink": "switch"})
            == 0
        )
        sink.down = False
        wait_until(
            lambda: (
                set(sink.ids()) == expected and _all_committed(kafka_broker, kafka_topic, group)
            ),
            30,
            "delivery after the sink recovered",
        )
        assert not service.backoff.active
        wait_until(lambda: _lag(service) == 0, 10, "no lag once committed")
        assert (
            service.metrics.registry.get_sample_value("role_monitor_sink_up", {"sink": "switch"})
            == 1
        )
    assert sorted(sink.ids()) == sorted(expected), "each finding exactly once"


def test_poison_message_is_dead_lettered_and_the_stream_goes_on(
    kafka_broker: KafkaBroker, kafka_topic: str, group: str, tmp_path: Path
) -> None:
    """A message that makes processing raise costs itself only: dead letter, then move on."""
    kafka_broker.create_topic(f"{kafka_topic}.dlq")
    poison = Message(None, b'{"poison": true, "eventSource": "sts.amazonaws.com"}')
    good = sts_stream(0, 10, noise_every=10**9)
    send(kafka_broker.bootstrap, kafka_topic, [*good[:5], poison, *good[5:]])
    sink = SwitchSink()
    settings = service_settings(kafka_broker.bootstrap, kafka_topic, group)
    with running(settings, sink, tmp_path / "state.db") as service:
        process = service.pipeline.process

        def exploding(payload: bytes) -> Any:
            if b"poison" in payload:
                raise RuntimeError("a bug that only this message triggers")
            return process(payload)

        service.pipeline.process = exploding  # type: ignore[method-assign]
        wait_until(lambda: _all_committed(kafka_broker, kafka_topic, group), 30, "all committed")
        assert set(sink.ids()) == set(expected_findings(good))
    dead = read_topic(kafka_broker.bootstrap, f"{kafka_topic}.dlq")
    assert [dict(r.headers)["reason"] for r in dead] == [b"processing_error"]
    assert dead[0].value == poison.value


def test_reread_of_delivered_records_pages_nobody_twice(
    kafka_broker: KafkaBroker, kafka_topic: str, group: str, tmp_path: Path
) -> None:
    """Findings delivered but offsets never committed: the outbox delivers them anyway (they
    are durable), and a restart that reads everything again enqueues nothing, because their
    ids were committed with the outbox rows."""
    messages = sts_stream(0, 80)
    expected = set(expected_findings(messages))
    send(kafka_broker.bootstrap, kafka_topic, messages)
    settings = service_settings(kafka_broker.bootstrap, kafka_topic, group)
    first = SwitchSink()
    state = tmp_path / "state.db"
    with running(settings, first, state, consumer_factory=_never_commits(settings)):
        wait_until(lambda: set(first.ids()) == expected, 30, "first delivery")
    committed, _ = offsets(kafka_broker.bootstrap, kafka_topic, group)
    assert set(committed.values()) == {0}, "the first run must not have committed offsets"
    second = SwitchSink()
    with running(settings, second, state) as service:
        wait_until(lambda: _all_committed(kafka_broker, kafka_topic, group), 30, "re-read")
        skipped = service.metrics.registry.get_sample_value(
            "role_monitor_messages_already_applied_total"
        )
    assert second.findings == []
    assert skipped == len(messages), "every message re-read is skipped whole, state untouched"


@pytest.mark.parametrize("urgent_severity", ["high", "critical"])
def test_a_page_leaves_with_its_poll_and_a_lesser_finding_waits_for_the_interval(
    kafka_broker: KafkaBroker, kafka_topic: str, group: str, tmp_path: Path, urgent_severity: str
) -> None:
    """The checkpoint interval is an hour. The stream's findings are high: with
    ``urgent_severity: high`` they are delivered once their poll is processed; with
    ``critical`` they wait in the batch for the interval, delivered by no one yet."""
    messages = sts_stream(0, 5, noise_every=100)
    expected = set(expected_findings(messages))
    send(kafka_broker.bootstrap, kafka_topic, messages)
    settings = service_settings(
        kafka_broker.bootstrap,
        kafka_topic,
        group,
        commit_interval="1h",
        commit_every=100_000,
        urgent_severity=urgent_severity,
    )
    sink = SwitchSink()
    with running(settings, sink, tmp_path / "state.db") as service:
        if urgent_severity == "high":
            wait_until(lambda: set(sink.ids()) == expected, 30, "the page, with its poll")
            wait_until(lambda: _all_committed(kafka_broker, kafka_topic, group), 30, "offsets")
            return
        wait_until(lambda: service.batch.messages == len(messages), 30, "every message read")
        # One more message, read by a later poll: the step that read the findings is over.
        send(
            kafka_broker.bootstrap,
            kafka_topic,
            [Message(None, b'{"eventName": "GetCallerIdentity"}')],
        )
        wait_until(lambda: service.batch.messages == len(messages) + 1, 30, "the next poll")
        assert sink.findings == [] and len(service.batch.findings) == len(expected)


def _lag(service: KafkaService) -> float:
    """role_monitor_consumer_lag summed over partitions, as a scrape would see it."""
    registry = service.metrics.registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "role_monitor_consumer_lag"
        for sample in metric.samples
    )


def _all_committed(broker: KafkaBroker, topic: str, group: str) -> bool:
    committed, end = offsets(broker.bootstrap, topic, group)
    return committed == end


def _never_commits(settings: Settings) -> Any:
    """A real consumer whose every offset commit times out (as with a broker in trouble)."""

    def factory() -> KafkaConsumer:
        consumer = KafkaConsumer(**consumer_options(settings.kafka))

        def refuse(*_args: Any, **_kwargs: Any) -> None:
            raise KafkaTimeoutError("test: offset commits are refused")

        consumer.commit = refuse
        return consumer

    return factory


def test_lag_grows_and_readiness_drops_while_delivery_fails(
    kafka_broker: KafkaBroker, kafka_topic: str, group: str, tmp_path: Path
) -> None:
    """Issue 12, point 3: paused partitions are not fetched, so the lag must come from the
    broker's end offsets; and a service that cannot deliver must stop saying it is ready."""
    first, later = sts_stream(0, 150), sts_stream(150, 600)
    send(kafka_broker.bootstrap, kafka_topic, first)
    sink = SwitchSink(down=True)
    settings = service_settings(kafka_broker.bootstrap, kafka_topic, group)
    settings = settings.model_copy(
        update={
            "metrics": settings.metrics.model_copy(
                update={"ready_after_delivery_failing": timedelta(seconds=1)}
            )
        }
    )
    with running(settings, sink, tmp_path / "state.db") as service:
        service.lag.refresh_every = 0.1
        wait_until(lambda: sink.attempts >= 2, 30, "the sink failing")
        wait_until(lambda: not service.ready(), 10, "not ready while delivery fails")
        send(kafka_broker.bootstrap, kafka_topic, later)  # arrives while paused
        # The first records' findings may be durable in the outbox (offsets committed).
        wait_until(lambda: _lag(service) >= len(later), 20, f"lag of the {len(later)} later")
        sink.down = False
        wait_until(lambda: _lag(service) == 0 and service.ready(), 60, "recovered and ready")
