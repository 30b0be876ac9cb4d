"""Checkpoint order, failure handling and message intake, without a broker.

Why: "commit an offset only after everything before it is safe" is decided by the order of a
few calls and by what a failure leaves behind; these tests pin both down with fakes, fast,
while the real-broker tests show the whole service keeps the promise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from kafka_stream import Message, expected_findings, mixed_stream, stream_settings, sts_stream

from monitor.findings import Finding
from monitor.intake.envelopes import Rejection
from monitor.metrics import Metrics
from monitor.service.app import build_monitor
from monitor.service.checkpoint import (
    Backoff,
    Batch,
    Checkpointer,
    CommitFailed,
    DeadLetter,
    DeadLetterFailed,
    DeadLetterOutput,
    retry_checkpoint,
)
from monitor.service.kafka_intake import Intake
from monitor.sinks.base import SinkError
from monitor.sinks.delivery import Delivery, DeliveryFailed
from monitor.state.errors import StateUnavailable
from monitor.state.postgres import PostgresBackend
from monitor.state.store import StateStore

Events = list[str]


class RecordingSink:
    name = "rec"

    def __init__(self, events: Events, fail: bool = False) -> None:
        self.events = events
        self.fail = fail
        self.sent: list[Finding] = []

    def send(self, findings: Sequence[Finding]) -> None:
        self.events.append("sink.send")
        if self.fail:
            raise SinkError("down")
        self.sent.extend(findings)

    def flush(self) -> None:
        self.events.append("sink.flush")

    def close(self) -> None: ...


class Acked:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error is not None:
            raise self.error


class FakeProducer:
    def __init__(self, events: Events, error: Exception | None = None) -> None:
        self.events = events
        self.error = error
        self.sent: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []

    def send(self, topic: str, value: bytes | None = None, headers: Any = None) -> Acked:
        self.events.append("dlq.send")
        self.sent.append((topic, value or b"", headers))
        return Acked(self.error)

    def flush(self, timeout: float | None = None) -> None:
        self.events.append("dlq.flush")


class Harness:
    """A Checkpointer over a real state file, a recording sink, a fake producer and commit."""

    def __init__(self, tmp_path: Path) -> None:
        self.events: Events = []
        self.state = StateStore(tmp_path / "state.db")
        self.sink = RecordingSink(self.events)
        self.producer = FakeProducer(self.events)
        self.commits: list[dict[tuple[str, int], int]] = []
        self.commit_error: Exception | None = None
        self.delivery = Delivery([self.sink], self.state, Metrics())
        output = DeadLetterOutput("dlq", lambda: self.producer)
        original = self.state.commit

        def commit_state() -> None:
            self.events.append("state.commit")
            original()

        self.state.commit = commit_state  # type: ignore[method-assign]
        self.checkpointer = Checkpointer(self.delivery, self.state, output, self.commit)

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.events.append("offsets.commit")
        if self.commit_error is not None:
            raise self.commit_error
        self.commits.append(dict(offsets))


def findings(count: int = 3) -> list[Finding]:
    return list(expected_findings(sts_stream(0, count, noise_every=10**9)).values())


def batch_with(items: list[Finding], letters: int = 1) -> Batch:
    batch = Batch()
    batch.findings.extend(items)
    for offset in range(letters):
        batch.dead_letters.append(
            DeadLetter.of(Rejection("invalid_json", "bad"), b"{", ("t", 0, offset))
        )
    batch.advance("t", 0, 41, now=0.0)
    batch.advance("t", 1, 7, now=0.0)
    return batch


def test_checkpoint_order_state_and_outbox_dead_letters_offsets_then_delivery(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    batch = batch_with(findings())
    harness.checkpointer.run(batch)
    assert harness.events == [
        "state.commit",  # state, delivered marks and outbox rows: one transaction
        "state.commit",  # expiring old state, on its own after the batch's commit
        "dlq.send",
        "dlq.flush",
        "offsets.commit",
        *["sink.send", "sink.flush"] * 3,  # from the outbox, one finding per chunk
    ]
    assert harness.commits == [{("t", 0): 42, ("t", 1): 8}], "the next offset to read"
    assert batch.empty and batch.messages == 0
    assert harness.state.outbox_rows(None, 10) == [], "every row dropped once sent"


def test_failing_sink_leaves_its_findings_in_the_outbox_until_it_recovers(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.sink.fail = True
    batch = batch_with(findings())
    with pytest.raises(DeliveryFailed):
        harness.checkpointer.run(batch)
    assert harness.commits, "the findings are durable in the outbox: offsets may move on"
    assert batch.empty and len(harness.state.outbox_rows(None, 10)) == 3
    harness.sink.fail = False
    harness.checkpointer.run(batch)
    assert len(harness.sink.sent) == 3 and harness.state.outbox_rows(None, 10) == []


def test_a_restart_after_the_state_commit_delivers_what_the_outbox_holds_once(
    tmp_path: Path,
) -> None:
    """A kill between the commit and the sinks: a new process over the same state file
    sends every owed finding, once, and a re-read of the same input adds nothing."""
    harness = Harness(tmp_path)
    harness.sink.fail = True
    items = findings()
    with pytest.raises(DeliveryFailed):
        harness.checkpointer.run(batch_with(items))
    harness.state.close()  # the process is gone
    state = StateStore(tmp_path / "state.db")
    sink = RecordingSink([])
    delivery = Delivery([sink], state, Metrics())
    output = DeadLetterOutput(None, lambda: harness.producer)
    Checkpointer(delivery, state, output, lambda offsets: None).run(batch_with(items))
    assert sorted(f.finding_id for f in sink.sent) == sorted(f.finding_id for f in items)


def test_unacknowledged_dead_letters_block_the_offset_commit(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.producer.error = RuntimeError("broker away")
    batch = batch_with(findings(), letters=2)
    with pytest.raises(DeadLetterFailed):
        harness.checkpointer.run(batch)
    assert "offsets.commit" not in harness.events
    assert batch.findings == [], "findings were delivered and recorded before the dead letters"
    assert len(batch.dead_letters) == 2
    harness.producer.error = None
    harness.checkpointer.run(batch)
    assert len(harness.sink.sent) == 3, "the retry delivers nothing twice"
    assert harness.commits


def test_failed_offset_commit_keeps_offsets_for_the_next_checkpoint(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.commit_error = CommitFailed("timeout")
    batch = batch_with(findings())
    with pytest.raises(CommitFailed):
        harness.checkpointer.run(batch)
    assert batch.offsets == {("t", 0): 42, ("t", 1): 8}
    assert not batch.findings and not batch.dead_letters


def test_delivered_ids_are_durable_before_offsets_are_committed(tmp_path: Path) -> None:
    """The state a restart will read already says "delivered" when offsets get committed."""
    harness = Harness(tmp_path)
    seen_by_a_restart: list[int] = []

    def commit(offsets: Mapping[tuple[str, int], int]) -> None:
        other = StateStore(tmp_path / "state.db")
        seen_by_a_restart.append(sum(n for t, n in other.sizes() if t == "delivered"))
        other.close()

    harness.checkpointer = Checkpointer(
        harness.delivery, harness.state, DeadLetterOutput(None, lambda: harness.producer), commit
    )
    harness.checkpointer.run(batch_with(findings(), letters=0))
    assert seen_by_a_restart == [3]


def test_abandon_rolls_state_back(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.state.mark_delivered("f1", findings(1)[0].event_time)
    batch = batch_with(findings(1))
    harness.checkpointer.abandon(batch)
    assert batch.empty
    assert harness.state.mark_delivered("f1", findings(1)[0].event_time), "rolled back"


def test_batch_is_due_on_count_or_interval() -> None:
    batch = Batch()
    assert not batch.due(100.0, interval=5, every=3), "an empty batch is never due"
    batch.advance("t", 0, 0, now=100.0)
    assert not batch.due(101.0, interval=5, every=3)
    assert batch.due(105.0, interval=5, every=3)
    batch.advance("t", 0, 1, now=101.0)
    batch.advance("t", 0, 2, now=101.0)
    assert batch.due(101.0, interval=5, every=3)
    batch.restart_clock(102.0)
    assert not batch.due(103.0, interval=5, every=3)


def test_backoff_doubles_up_to_the_maximum() -> None:
    backoff = Backoff(0.5, 3.0)
    delays = [backoff.fail(now=0.0) for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.active and not backoff.ready(2.9) and backoff.ready(3.0)
    backoff.reset()
    assert not backoff.active


def test_dead_letter_headers_name_reason_and_source() -> None:
    letter = DeadLetter.of(Rejection("invalid_gzip", "truncated", b""), b"\x1f\x8bxx", ("t", 2, 9))
    headers = dict(letter.headers())
    assert headers["reason"] == b"invalid_gzip"
    assert headers["detail"] == b"truncated"
    assert (headers["source_topic"], headers["source_partition"], headers["source_offset"]) == (
        b"t",
        b"2",
        b"9",
    )
    assert letter.payload == b"\x1f\x8bxx", "no piece kept: the whole message is the letter"


def test_no_dead_letter_topic_drops_letters_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = DeadLetterOutput(None, lambda: pytest.fail("no producer without a topic"))
    output.produce([DeadLetter("invalid_json", "x", b"{", "t", 0, 1)])
    assert "dead_letter_topic is not set" in caplog.text


def test_intake_of_the_mixed_stream() -> None:
    """Findings as the pipeline makes them, garbage as dead letters, every offset counted."""
    monitor = build_monitor(stream_settings(), state_path=":memory:")
    intake, batch = Intake(monitor.pipeline, monitor.metrics), Batch()
    messages = mixed_stream()
    for offset, message in enumerate(messages):
        intake.take(message.value, ("t", 0, offset), batch, now=0.0)
    assert {f.event_id for f in batch.findings} == {
        f.event_id for f in expected_findings(messages).values()
    }
    assert {letter.reason for letter in batch.dead_letters} >= {"invalid_json", "invalid_gzip"}
    assert batch.offsets == {("t", 0): len(messages)} and batch.messages == len(messages)
    skipped = monitor.metrics.registry.get_sample_value(
        "role_monitor_records_total", {"outcome": "skipped"}
    )
    assert skipped is not None and skipped >= 10


def test_intake_turns_a_poison_message_into_one_dead_letter() -> None:
    monitor = build_monitor(stream_settings(), state_path=":memory:")

    def explode(payload: bytes) -> Any:
        raise ValueError("bug")

    monitor.pipeline.process = explode  # type: ignore[method-assign]
    batch = Batch()
    poison = Message(None, b'{"eventSource": "sts.amazonaws.com"}')
    Intake(monitor.pipeline, monitor.metrics).take(poison.value, ("t", 1, 5), batch, now=0.0)
    [letter] = batch.dead_letters
    assert (letter.reason, letter.payload, letter.offset) == ("processing_error", poison.value, 5)
    assert batch.offsets == {("t", 1): 6}, "the poison message is passed, not retried forever"
    assert (
        monitor.metrics.registry.get_sample_value(
            "role_monitor_dead_letters_total", {"reason": "processing_error"}
        )
        == 1
    )


def test_retry_checkpoint_backs_off_until_the_sink_recovers(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.sink.fail = True
    attempts: list[int] = []

    def recover_on_third_try() -> bool:
        attempts.append(1)
        harness.sink.fail = len(attempts) < 2
        return False

    batch = batch_with(findings())
    retry_checkpoint(
        harness.checkpointer,
        batch,
        Backoff(0.01, 0.02),
        deadline=1e12,
        give_up=recover_on_third_try,
    )
    assert batch.empty and len(harness.sink.sent) == 3
    assert len({f.finding_id for f in harness.sink.sent}) == 3, "none sent twice"


def test_retry_checkpoint_gives_up_and_leaves_the_batch(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    harness.sink.fail = True
    batch = batch_with(findings())
    with pytest.raises(DeliveryFailed):
        retry_checkpoint(
            harness.checkpointer, batch, Backoff(0.01, 0.02), deadline=0.0, give_up=lambda: False
        )
    assert len(harness.state.outbox_rows(None, 10)) == 3, "owed: whoever owns them sends"


def test_a_failed_offset_commit_pauses_nothing(tmp_path: Path) -> None:
    """Everything before a failed commit is delivered and recorded, and commits are
    cumulative: the service keeps consuming (no back-pressure, readiness unchanged)."""
    from monitor.service.kafka_service import KafkaService

    settings = stream_settings(state={"path": str(tmp_path / "state.db")})
    monitor = build_monitor(settings)
    delivery = Delivery([RecordingSink([])], monitor.state, monitor.metrics)
    service = KafkaService(settings, monitor, delivery)

    def commit_fails(batch: Batch) -> None:
        raise CommitFailed("coordinator away")

    service.checkpointer.run = commit_fails  # type: ignore[method-assign]
    try:
        assert service._checkpoint() is True
        assert service.backoff.failures == 0
        assert service._failing_since is None
    finally:
        monitor.close()


def test_state_away_after_a_mid_poll_checkpoint_reads_the_rest_of_the_poll_again(
    tmp_path: Path,
) -> None:
    """A checkpoint inside one poll's records clears the batch; when a shared state then goes
    away, the records after the checkpoint must be read again from where they start (each
    message notes its partition's start, not only the first of the poll)."""
    from types import SimpleNamespace

    from monitor.service.kafka_service import KafkaService

    settings = stream_settings(state={"path": str(tmp_path / "state.db")})
    monitor = build_monitor(settings)
    delivery = Delivery([RecordingSink([])], monitor.state, monitor.metrics)
    service = KafkaService(settings, monitor, delivery)
    seeks: dict[tuple[str, int], int] = {}
    service.consumer = SimpleNamespace(
        assignment=lambda: {("t", 0), ("t", 1)},
        seek=lambda tp, offset: seeks.update({tuple(tp): offset}),
        pause=lambda *tps: None,
    )

    def take(value: bytes, where: tuple[str, int, int], batch: Batch, now: float) -> None:
        if where[2] == 3:
            raise StateUnavailable("database away")
        batch.advance(*where, now=now)

    service.intake.take = take  # type: ignore[method-assign]
    service._due = lambda: service.batch.started.get(("t", 0)) == 0  # type: ignore[method-assign]
    service._checkpoint = service.batch.clear  # type: ignore[assignment,method-assign]
    polled = {
        ("t", p): [SimpleNamespace(topic="t", partition=p, offset=n, value=b"{}") for n in range(5)]
        for p in (0, 1)
    }
    try:
        with pytest.raises(StateUnavailable) as raised:
            service._process(polled)
        service._redo_batch(raised.value)
        # partition 0: offsets 1 and 2 were neither committed nor may be lost; partition 1,
        # not reached yet, is past its poll too and must be read again from its start
        assert seeks == {("t", 0): 1, ("t", 1): 0}
    finally:
        monitor.close()


def test_a_retried_checkpoint_pages_nothing_another_instance_won_meanwhile(
    postgres_url: str,
) -> None:
    """Instances a and b read the two copies of one call. a's checkpoint claims the call and
    stages its finding, then the database goes away before the commit; b's checkpoint wins
    the claim meanwhile and pages. a's retry loses the claim, so it must page nothing: the
    rows its failed attempt staged go with the attempt (a database restart in CI paged 12
    findings twice this way)."""
    at = findings(1)[0].event_time

    def instance(partition: int) -> tuple[StateStore, RecordingSink, Checkpointer, Batch]:
        state = StateStore(postgres_url, backend=PostgresBackend(postgres_url))
        state.set_position("t", partition, 1)
        assert state.first_copy("call-1", at)
        finding = findings(1)[0]  # both copies give the same finding (one id)
        finding.add_claims(state.take_claims())
        sink = RecordingSink([])
        delivery = Delivery([sink], state, Metrics())
        output = DeadLetterOutput(None, lambda: FakeProducer([]))
        batch = Batch()
        batch.add_findings([finding], "t", partition)
        return state, sink, Checkpointer(delivery, state, output, lambda offsets: None), batch

    a_state, a_sink, a_checkpointer, a_batch = instance(0)
    b_state, b_sink, b_checkpointer, b_batch = instance(3)
    commit = a_state.commit

    def database_away() -> None:
        a_state._backend.drop_connections()  # type: ignore[attr-defined]
        raise StateUnavailable("terminating connection due to administrator command")

    a_state.commit = database_away  # type: ignore[method-assign]
    with pytest.raises(StateUnavailable):
        a_checkpointer.run(a_batch)
    a_state.commit = commit  # type: ignore[method-assign]
    b_checkpointer.run(b_batch)
    a_checkpointer.run(a_batch)  # the retry
    assert [f.finding_id for f in b_sink.sent] == [f.finding_id for f in findings(1)]
    assert a_sink.sent == [], "paged by both instances"
    a_state.close()
    b_state.close()
