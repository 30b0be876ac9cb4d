"""Checkpoints of the Kafka service: what is in flight, and the order in which it is made safe.

A :class:`Batch` holds everything read since the last checkpoint: findings not yet in the
outbox, dead letters not yet produced, and the next offset of every partition read. A
checkpoint (:meth:`Checkpointer.run`) then goes

0. with a state shared by a group (PostgreSQL), claim group-wide what the findings rest on, in
   the state's open transaction, and drop those whose claim another instance holds (see
   :meth:`StateStore.settle`);
1. put the findings in the outbox (:class:`~monitor.sinks.delivery.Delivery`): delivered marks
   and one row per finding and sink, scoped by the partition that produced it;
2. commit the state store: baselines, claims, marks and outbox rows in ONE transaction; then
   expire old state and commit that on its own;
3. produce the dead letters and wait for their acknowledgement;
4. commit the offsets;
5. deliver from the outbox (every partition this instance owns), dropping each chunk's rows
   once its sink took it.

Each step only starts when the one before succeeded, so an offset is committed only once every
finding of every record before it is durable in the outbox, and a finding is sent only once it
is. A crash before (2) re-reads the input and sends nothing twice (nothing was sent); after it,
the outbox still holds what was not yet taken, and whoever owns the partition next sends it.
Dead letters come before the offsets: decoding is stateless, so a crash before they are
acknowledged simply produces them again on re-read.

A failing step raises and leaves the batch as it is, ready for a retry (what a failed attempt
marked and staged is retracted first: the retry claims again, and stages only what it won);
the caller pauses the partitions meanwhile (back-pressure) and commits nothing. A failing sink
at (5) leaves its rows in the outbox and raises too: consumption stays paused until the outbox
is drained. A shared state database that is away (:class:`StateUnavailable`) is one more
failing step.

The harness in ``tests/test_crash_harness.py`` kills the process at every named
:func:`~monitor.crashpoints.reached` step below.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor import __version__, crashpoints
from monitor.findings import Finding
from monitor.intake.envelopes import Rejection
from monitor.sinks.delivery import Delivery, DeliveryFailed
from monitor.state.errors import StateUnavailable
from monitor.state.store import StateStore

log = logging.getLogger(__name__)

#: Kafka's default message.max.bytes is ~1 MiB; a dead letter must fit with its headers.
MAX_DEAD_LETTER_BYTES = 900 * 1024

#: ``(topic, partition)``: kept free of kafka-python types so this module stays pure.
Partition = tuple[str, int]


class DeadLetterFailed(Exception):
    """The dead-letter topic did not acknowledge every dead letter; retry before committing."""


class CommitFailed(Exception):
    """Kafka refused or timed out the offset commit; the next checkpoint tries again."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A rejected piece of one message, with where it came from."""

    reason: str
    detail: str
    payload: bytes
    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, rejection: Rejection, message: bytes, where: tuple[str, int, int]) -> DeadLetter:
        """The rejected piece when the decoder kept one, else the whole message."""
        payload = rejection.payload or message
        return cls(rejection.reason, rejection.detail, payload[:MAX_DEAD_LETTER_BYTES], *where)

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("reason", self.reason.encode()),
            ("detail", self.detail.encode("utf-8", "replace")[:2048]),
            ("source_topic", self.topic.encode()),
            ("source_partition", str(self.partition).encode()),
            ("source_offset", str(self.offset).encode()),
            ("monitor_version", __version__.encode()),
        ]


@dataclass
class Batch:
    """Work read since the last checkpoint."""

    findings: list[Finding] = field(default_factory=list)
    #: The partition (``topic:partition``) each finding came from, in step with ``findings``
    #: (shorter when findings were added directly: the rest are ``local``).
    scopes: list[str] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    #: Next offset to read per partition (last read + 1): what a commit stores.
    offsets: dict[Partition, int] = field(default_factory=dict)
    messages: int = 0
    opened: float | None = None
    #: First offset read per partition since the last checkpoint: where to read again from
    #: when the batch must be redone (the shared state went away mid-processing).
    started: dict[Partition, int] = field(default_factory=dict)

    def add_findings(self, findings: Sequence[Finding], topic: str, partition: int) -> None:
        self.align()
        self.findings.extend(findings)
        self.scopes.extend([f"{topic}:{partition}"] * len(findings))

    def align(self) -> None:
        """Give findings added without a partition the ``local`` scope."""
        self.scopes.extend(["local"] * (len(self.findings) - len(self.scopes)))

    def keep(self, kept: Sequence[Finding]) -> None:
        """Keep only ``kept`` (a subsequence of ``findings``), scopes along."""
        self.align()
        wanted = {id(finding) for finding in kept}
        pairs = [(f, s) for f, s in zip(self.findings, self.scopes, strict=True) if id(f) in wanted]
        self.findings[:] = [f for f, _ in pairs]
        self.scopes[:] = [s for _, s in pairs]

    def note(self, topic: str, partition: int, offset: int) -> None:
        """Remember ``offset`` if it is the batch's first of its partition (before processing)."""
        self.started.setdefault((topic, partition), offset)

    def advance(self, topic: str, partition: int, offset: int, now: float) -> None:
        """Count one message as read (processed, skipped or dead-lettered alike)."""
        if self.opened is None:
            self.opened = now
        self.messages += 1
        self.offsets[(topic, partition)] = offset + 1

    @property
    def empty(self) -> bool:
        return not (self.findings or self.dead_letters or self.offsets)

    def due(self, now: float, interval: float, every: int) -> bool:
        """True when the checkpoint interval has passed or ``every`` messages were read."""
        if self.empty:
            return False
        opened = self.opened if self.opened is not None else now
        return self.messages >= every or now - opened >= interval

    def restart_clock(self, now: float) -> None:
        """Wait a full interval before the next attempt (after a failed offset commit)."""
        self.messages = 0
        self.opened = now

    def clear(self) -> None:
        self.findings.clear()
        self.scopes.clear()
        self.dead_letters.clear()
        self.offsets.clear()
        self.started.clear()
        self.messages = 0
        self.opened = None


class Producer(Protocol):
    """What dead letters need from a Kafka producer (kafka-python's KafkaProducer fits)."""

    def send(
        self, topic: str, value: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...


class DeadLetterOutput:
    """The dead-letter topic, or nowhere (each letter logged) when none is configured.

    The producer is made on first use: a broker that is down at startup must not stop the
    service, only delay the first checkpoint that has dead letters.
    """

    def __init__(
        self, topic: str | None, producer: Callable[[], Producer], timeout_s: float = 5.0
    ) -> None:
        self.topic = topic
        self._factory = producer
        self._producer: Producer | None = None
        self.timeout_s = timeout_s

    def connect(self) -> None:
        """Make the producer now if possible, so a shutdown never waits for a bootstrap."""
        if self.topic is None or self._producer is not None:
            return
        try:
            self._producer = self._factory()
        except Exception as exc:  # retried at the first dead letter
            log.warning("dead-letter producer not ready yet", extra={"error": str(exc)})

    def produce(self, letters: Sequence[DeadLetter]) -> None:
        """Send and wait for every acknowledgement; raises DeadLetterFailed."""
        if not letters:
            return
        if self.topic is None:
            for letter in letters:
                log.warning(
                    "dropping a dead letter: kafka.dead_letter_topic is not set",
                    extra={"reason": letter.reason, "source_offset": letter.offset},
                )
            return
        try:
            producer = self._producer = self._producer or self._factory()
            futures = [
                producer.send(self.topic, value=letter.payload, headers=letter.headers())
                for letter in letters
            ]
            producer.flush(timeout=self.timeout_s)
            for future in futures:
                future.get(timeout=0)
        except Exception as exc:  # kafka-python raises many types; any means "not acked"
            raise DeadLetterFailed(f"{type(exc).__name__}: {exc}") from exc

    def close(self, timeout_s: float = 2.0) -> None:
        if self._producer is not None:
            close = getattr(self._producer, "close", None)
            if close is not None:
                close(timeout=timeout_s)
            self._producer = None


class Checkpointer:
    """Runs the checkpoint steps in their safe order (see the module docstring)."""

    def __init__(
        self,
        delivery: Delivery,
        state: StateStore,
        dead_letters: DeadLetterOutput,
        commit_offsets: Callable[[Mapping[Partition, int]], None],
        housekeeping: Callable[[], object] = lambda: None,
        scopes: Callable[[], Sequence[str] | None] = lambda: None,
    ) -> None:
        self.delivery = delivery
        self.state = state
        self.dead_letters = dead_letters
        self._commit_offsets = commit_offsets
        #: Runs after the state commit, in a transaction of its own (expiring old state).
        self._housekeeping = housekeeping
        #: Outbox scopes this instance delivers (the partitions it owns; None: every one).
        self._scopes = scopes
        #: Told how many findings another group member's claim took (they page there).
        self.on_claims_lost: Callable[[int], object] = lambda count: None

    def run(self, batch: Batch) -> None:
        """Make ``batch`` safe, then deliver what the outbox holds; raises DeliveryFailed,
        DeadLetterFailed, CommitFailed or StateUnavailable.

        Housekeeping (expiring old state: DELETEs over every table) runs in a transaction of
        its own *after* the commit, so it never delays the batch's own.
        """
        try:
            self._make_durable(batch)
        except BaseException:
            self.delivery.retract()  # the retry claims again and enqueues only what it wins
            raise
        self.delivery.committed()
        crashpoints.reached("state_commit")
        batch.findings.clear()
        batch.scopes.clear()
        self._housekeeping()
        self.state.commit()
        self.dead_letters.produce(batch.dead_letters)
        batch.dead_letters.clear()
        crashpoints.reached("dead_letters")
        if batch.offsets:
            try:
                self._commit_offsets(dict(batch.offsets))
            except CommitFailed:
                self._drain()  # durable in the outbox: sending need not wait for Kafka
                raise
            crashpoints.reached("offset_commit")
        batch.clear()
        self._drain()

    def _make_durable(self, batch: Batch) -> None:
        """Steps 0-2: claim, put the winners in the outbox, commit them with the state."""
        if batch.findings:
            settled = self.state.settle(batch.findings)  # idempotent: a retry claims again
            if len(settled) != len(batch.findings):
                self.on_claims_lost(len(batch.findings) - len(settled))
                batch.keep(settled)
            batch.align()
            self.delivery.enqueue(batch.findings, batch.scopes)
        self.delivery.stage()
        crashpoints.reached("outbox_write")
        self.state.commit()

    def _drain(self) -> None:
        if self.delivery.pending:
            self.delivery.drain(self._scopes())

    def abandon(self, batch: Batch) -> None:
        """Forget uncommitted work (partitions lost): whoever reads them next redoes it.

        What is in the outbox stays there: the partition's next owner delivers it.
        """
        self.state.rollback()
        self.delivery.forget()
        batch.clear()


@dataclass
class Backoff:
    """Exponential backoff between ``initial`` and ``maximum`` seconds."""

    initial: float
    maximum: float
    failures: int = 0
    next_at: float = 0.0

    def fail(self, now: float) -> float:
        delay = min(self.initial * (2**self.failures), self.maximum)
        self.failures += 1
        self.next_at = now + delay
        return delay

    def ready(self, now: float) -> bool:
        return now >= self.next_at

    @property
    def active(self) -> bool:
        return self.failures > 0

    def reset(self) -> None:
        self.failures = 0
        self.next_at = 0.0


def retry_checkpoint(
    checkpointer: Checkpointer,
    batch: Batch,
    backoff: Backoff,
    deadline: float,
    give_up: Callable[[], bool],
) -> None:
    """Run the checkpoint until it succeeds, backing off in between (a blocking wait).

    Re-raises the last failure once the next attempt would pass ``deadline`` (monotonic) or
    ``give_up()`` says so. For the rebalance hand-over, which must end before the group moves
    on, so it runs on its own thread.
    """
    while True:
        try:
            checkpointer.run(batch)
            return
        except (DeliveryFailed, DeadLetterFailed, CommitFailed, StateUnavailable):
            delay = backoff.fail(time.monotonic())
            if give_up() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
