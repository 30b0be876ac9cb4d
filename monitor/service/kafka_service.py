"""The long-running Kafka consumer behind ``role-monitor run``: at least once, never twice paged.

One thread polls, runs every message through the shared :class:`~monitor.detect.pipeline.Pipeline`
and collects findings, dead letters and offsets in a :class:`~monitor.service.checkpoint.Batch`;
every ``kafka.commit_interval`` or ``kafka.commit_every`` messages the batch is checkpointed
(deliver, state, dead letters, offsets; see :mod:`monitor.service.checkpoint`). What can go wrong,
and what happens:

- a poison message: whatever it raises becomes a ``processing_error`` dead letter (see
  :mod:`monitor.service.kafka_intake`); its offset is committed with the rest, so it can never
  crash-loop the service;
- a sink is down: the checkpoint fails, partitions are paused (back-pressure), the checkpoint is
  retried with exponential backoff (``alerts.retry_initial`` … ``alerts.retry_max``), nothing is
  committed meanwhile, and consumption resumes once everything is delivered;
- the broker goes away: kafka-python reconnects by itself; failed offset commits are retried at
  the next checkpoint (commits are cumulative), never fatal;
- the shared state database (PostgreSQL) goes away: like a failing sink at a checkpoint; if
  processing itself needs it, the batch is abandoned (state rolled back), every partition is
  sought back to the batch's first offset and read again once the database answers; ``/readyz``
  is false meanwhile and ``role_monitor_state_up`` 0;
- a rebalance: in-flight work is checkpointed before the partitions move (see
  :mod:`monitor.service.kafka_rebalance`);
- SIGTERM / SIGINT (:meth:`KafkaService.request_stop`): the batch in hand is checkpointed and
  the service leaves the group within a fixed budget. Whatever still holds the loop when the
  budget is spent (a sink that never answers, a huge message being processed, a broker that is
  gone) is left behind: with ``watchdog`` on, the process exits 0 after ``HARD_EXIT_S`` with one
  warning line. Nothing undelivered was committed, so the next start reads that work again.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from monitor.config.settings import Settings
from monitor.findings import Severity
from monitor.intake.clock import StartVote
from monitor.service.app import Monitor
from monitor.service.checkpoint import (
    Backoff,
    Batch,
    Checkpointer,
    CommitFailed,
    DeadLetterFailed,
    DeadLetterOutput,
    Partition,
    retry_checkpoint,
)
from monitor.service.kafka_intake import Intake
from monitor.service.kafka_lag import LagTracker
from monitor.service.kafka_rebalance import HandoverListener
from monitor.sinks.delivery import Delivery, DeliveryFailed
from monitor.sources.kafka_client import consumer_options, producer_options
from monitor.state.errors import StateUnavailable

log = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 500
COMMIT_TIMEOUT_MS = 5000
#: SIGTERM to exit: the final checkpoint and leaving the group fit in this (exit within 10 s).
SHUTDOWN_BUDGET_S = 8.0
#: SIGTERM to a forced exit when the orderly shutdown is stuck (the README promises 10 s).
HARD_EXIT_S = 9.0
#: How long a hand-over may retry a failing sink before it abandons the batch to the new owner.
HANDOVER_BUDGET_S = 20.0
#: State sizes (a count of every table) are sampled at a checkpoint at most this often.
STATE_SAMPLE_EVERY_S = 30.0

CheckpointError = (DeliveryFailed, DeadLetterFailed, CommitFailed, StateUnavailable)


class KafkaService:
    """Consume ``kafka.topics`` in ``kafka.group_id`` until :meth:`request_stop`."""

    def __init__(
        self,
        settings: Settings,
        monitor: Monitor,
        delivery: Delivery,
        consumer_factory: Callable[[], Any] | None = None,
        producer_factory: Callable[[], Any] | None = None,
        watchdog: bool = False,
    ) -> None:
        self.settings = settings
        self.kafka = settings.kafka
        self.pipeline = monitor.pipeline
        # A live stream: an event years old is as implausible as one from the future.
        self.pipeline.clock.max_age = settings.clock.max_age
        # ... whose first records vote for the learning start (one stray record cannot set it).
        self.pipeline.start_vote = StartVote(tolerance=settings.state.late_event_grace)
        self.metrics = monitor.metrics
        self.state = monitor.state
        self._watchdog = watchdog
        self._exited = threading.Event()
        #: Monotonic time of the first failed checkpoint of the current outage (readiness).
        self._failing_since: float | None = None
        #: Monotonic start of the checkpoint in progress: one that hangs is failing already.
        self._checkpoint_since: float | None = None
        self._ready_grace = settings.metrics.ready_after_delivery_failing.total_seconds()
        self._sampled_at = time.monotonic()
        self._reset_checked = False
        # Built now so a configuration mistake (e.g. SASL without a password) fails at startup.
        self._consumer_options = consumer_options(self.kafka, settings.resolve)
        self._new_consumer = consumer_factory or self._default_consumer
        self.dead_letters = DeadLetterOutput(
            self.kafka.dead_letter_topic, producer_factory or self._default_producer
        )
        self.checkpointer = Checkpointer(
            delivery,
            monitor.state,
            self.dead_letters,
            self._commit,
            housekeeping=self.pipeline.maybe_prune,
            scopes=self._outbox_scopes,
        )
        self.checkpointer.on_claims_lost = self.metrics.findings_claimed_elsewhere.inc
        self.batch = Batch()
        #: A group's shared state: each message's claims are owned by its position.
        self._shared = monitor.state.shared
        self._state_ok = True
        self.intake = Intake(self.pipeline, self.metrics)
        alerts = settings.alerts
        self.backoff = Backoff(
            alerts.retry_initial.total_seconds(), alerts.retry_max.total_seconds()
        )
        self.lag = LagTracker(from_beginning=self.kafka.auto_offset_reset == "earliest")
        self.metrics.watch_lag(self.lag.snapshot)
        self.consumer: Any = None
        self.closing = False
        self._assigned: frozenset[Any] = frozenset()
        #: Partitions whose outbox rows this instance delivers (see _outbox_scopes).
        self._outbox_owned: frozenset[Any] = frozenset()
        #: Set on a new assignment: the state re-reads positions (and a group's windows)
        #: before the next message is processed (see StateStore.refresh).
        self._reassigned = False
        self._stop = threading.Event()
        # The batch is touched by this service's thread and, during a hand-over, by a worker
        # thread while this one is blocked in poll(); the lock makes that exclusion explicit.
        self._lock = threading.RLock()
        self._commit_timeout_ms = COMMIT_TIMEOUT_MS
        self.delivery = delivery

    # -- lifecycle ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the loop to finish the batch in hand and exit (safe from a signal handler)."""
        self._stop.set()

    def ready(self) -> bool:
        """True while partitions are assigned and delivery has not been failing for longer than
        ``metrics.ready_after_delivery_failing`` and the shared state answers (readiness)."""
        failing = self._failing_since or self._checkpoint_since
        stuck = failing is not None and time.monotonic() - failing > self._ready_grace
        return bool(self._assigned) and not self.closing and not stuck and self._state_ok

    def run(self) -> int:
        if self._watchdog:
            threading.Thread(target=self._hard_exit, name="shutdown-watchdog", daemon=True).start()
        try:
            return self._run()
        finally:
            self._exited.set()

    def _hard_exit(self) -> None:
        """After SIGTERM, exit within HARD_EXIT_S whatever the loop is stuck in (see module doc)."""
        self._stop.wait()
        if self._exited.wait(HARD_EXIT_S):
            return
        log.warning(
            "shutdown budget spent; exiting now, uncommitted work is read again at the next start",
            extra={"budget_s": HARD_EXIT_S, "pending_messages": self.batch.messages},
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(0)

    def _run(self) -> int:
        consumer = self._connect()
        if consumer is None:
            return 0
        self.consumer = consumer
        self.dead_letters.connect()
        consumer.subscribe(
            topics=list(self.kafka.topics), listener=HandoverListener(self, consumer)
        )
        log.info(
            "consuming", extra={"topics": list(self.kafka.topics), "group": self.kafka.group_id}
        )
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            self._shutdown()
        return 0

    def step(self) -> None:
        """One poll and what follows it: process, checkpoint when due, retry when paused."""
        if self.backoff.active:
            self._pause_all()
            if self.backoff.ready(time.monotonic()):
                with self._lock:
                    self._checkpoint()
        records = self._poll()
        if not self._reset_checked and self._assigned:
            self._check_state_reset()  # before this poll's records can fill the state
        with self._lock:
            if self._reassigned:
                self._refresh_state()
            if not self.backoff.active and self._owed():
                self._checkpoint()  # only delivers: what the outbox owes goes before new work
            try:
                self._process(records)
            except StateUnavailable as exc:
                self._redo_batch(exc)
            if not self.backoff.active and (self._due() or self._urgent()):
                self._checkpoint()
        self.lag.refresh(self.consumer, time.monotonic())

    def _process(self, records: Mapping[Any, list[Any]]) -> None:
        taken: dict[Any, int] = {}
        self._note_untaken(records, taken)
        for partition, messages in records.items():
            for message in messages:
                if self._stop.is_set():
                    return  # not taken: its offset is not committed, the next start reads it
                where = (message.topic, message.partition, message.offset)
                if self.pipeline.state.set_position(*where):
                    self.intake.take(message.value or b"", where, self.batch, time.monotonic())
                else:  # its effects are in the state already: a re-read must change nothing
                    self.batch.advance(*where, now=time.monotonic())
                    self.metrics.messages_already_applied.inc()
                taken[partition] = taken.get(partition, 0) + 1
                if not self.backoff.active and self._due():
                    self._checkpoint()
                    # It cleared the batch: what is left of this poll still needs its starts.
                    self._note_untaken(records, taken)

    def _note_untaken(self, records: Mapping[Any, list[Any]], taken: Mapping[Any, int]) -> None:
        """Note, for every partition of this poll, its first message not yet taken: where
        :meth:`_redo_batch` seeks back to if the shared state goes away (the consumer's
        position is already past the whole poll)."""
        for partition, messages in records.items():
            index = taken.get(partition, 0)
            if index < len(messages):
                first = messages[index]
                self.batch.note(first.topic, first.partition, first.offset)

    def _refresh_state(self) -> None:
        """After an assignment: positions are read again at their partition's next message
        (a database away then redoes the batch); a group's cache follows the last owners."""
        self._reassigned = False
        self.pipeline.state.refresh()

    def _redo_batch(self, exc: StateUnavailable) -> None:
        """The shared state went away mid-processing: forget the batch, read it again later.

        Nothing of it was delivered or committed (a checkpoint that had started would have
        put the service in backoff, and nothing is processed then), so re-reading it from the
        first offsets loses nothing and pages nobody twice.
        """
        started = dict(self.batch.started)
        self.checkpointer.abandon(self.batch)
        owned = self.consumer.assignment()
        for (topic, partition), offset in started.items():
            tp = TopicPartition(topic, partition)
            if tp in owned:
                self.consumer.seek(tp, offset)
        self._back_pressure(exc)

    def _connect(self) -> Any:
        """A consumer, retried with backoff while no broker answers (until stopped)."""
        backoff = Backoff(1.0, 30.0)
        while not self._stop.is_set():
            try:
                return self._new_consumer()
            except KafkaError as exc:
                delay = backoff.fail(time.monotonic())
                log.warning(
                    "cannot reach Kafka; retrying",
                    extra={"error": _describe(exc), "retry_in_s": delay},
                )
                self._stop.wait(delay)
        return None

    def _poll(self) -> Mapping[Any, list[Any]]:
        try:
            records: Mapping[Any, list[Any]] = self.consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
        except (KafkaError, OSError, AssertionError) as exc:  # the client's own failures
            log.warning("poll failed; retrying", extra={"error": _describe(exc)})
            self._stop.wait(1.0)
            return {}
        return records

    def _shutdown(self) -> None:
        """Final checkpoint, leave the group, close the producer: within SHUTDOWN_BUDGET_S, and
        one warning line (not a traceback, not exit 1) when something had to be left."""
        deadline = time.monotonic() + SHUTDOWN_BUDGET_S
        log.info("stopping", extra={"pending_messages": self.batch.messages})
        self.closing = True
        self._commit_timeout_ms = 3000
        self.dead_letters.timeout_s = 2.0
        problems: list[str] = []
        with self._lock:
            if not self.batch.empty or self.delivery.pending:
                try:
                    self.checkpointer.run(self.batch)
                except Exception as exc:  # any failure: the work is read again, never lost
                    problems.append(f"final checkpoint: {_describe(exc)}")
        self.metrics.ready.set(0)
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 500)
        try:
            self.consumer.close(autocommit=False, timeout_ms=remaining_ms)
        except Exception as exc:  # kafka-python raises more than KafkaError with the broker away
            problems.append(f"leaving the group: {_describe(exc)}")
        try:
            self.dead_letters.close(timeout_s=max(deadline - time.monotonic(), 0.5))
        except Exception as exc:
            problems.append(f"closing the dead-letter producer: {_describe(exc)}")
        if problems:
            log.warning(
                "stopped with work left: uncommitted records are read again at the next start",
                extra={"problems": problems, "pending_findings": len(self.batch.findings)},
            )
        log.info("stopped", extra={"messages": self.pipeline.stats.messages})

    # -- checkpoints and back-pressure ----------------------------------------------------------

    def _owed(self) -> bool:
        """The outbox may hold findings of owned partitions (at start, after an assignment)
        and no batch is in hand (its checkpoint would deliver them anyway)."""
        return self.delivery.pending and bool(self._assigned) and self.batch.empty

    def _outbox_scopes(self) -> list[str] | None:
        """The outbox rows this instance delivers: its partitions' in a group, else all."""
        if not self._shared:
            return None
        # Not reduced at a revocation: the hand-over still delivers what the revoked hold.
        return sorted(f"{tp.topic}:{tp.partition}" for tp in self._outbox_owned)

    def _due(self) -> bool:
        interval = self.kafka.commit_interval.total_seconds()
        return self.batch.due(time.monotonic(), interval, self.kafka.commit_every)

    def _urgent(self) -> bool:
        """A finding at ``urgent_severity`` or above is waiting: it goes out with this poll."""
        rank = Severity(self.kafka.urgent_severity).rank
        return any(finding.severity.rank <= rank for finding in self.batch.findings)

    def _checkpoint(self) -> bool:
        self._checkpoint_since = time.monotonic()
        try:
            return self._run_checkpoint()
        finally:
            self._checkpoint_since = None

    def _run_checkpoint(self) -> bool:
        try:
            self.checkpointer.run(self.batch)
        except (DeliveryFailed, DeadLetterFailed, StateUnavailable) as exc:
            self._back_pressure(exc)
            return False
        except CommitFailed as exc:  # before `Exception`, which would catch it too
            # Everything is delivered and recorded; commits are cumulative, so the next
            # checkpoint carries these offsets too. No back-pressure: consuming is safe.
            log.warning("offset commit failed; retrying next checkpoint", extra={"error": str(exc)})
            self.batch.restart_clock(time.monotonic())
        except Exception:  # the batch stays; the retry loop takes over as for a sink outage
            log.exception("checkpoint failed unexpectedly")
            self._back_pressure(RuntimeError("unexpected checkpoint error"))
            return False
        self._failing_since = None
        self._state_up(True)
        if self.backoff.active:
            self._resume_all()
        self._sample_state()
        return self.batch.empty

    def _sample_state(self) -> None:
        """State sizes for /metrics, counted here on the state's own thread (see metrics.py)."""
        now = time.monotonic()
        if now - self._sampled_at >= STATE_SAMPLE_EVERY_S:
            self._sampled_at = now
            self.metrics.sample_state()

    def _check_state_reset(self) -> None:
        """Once: offsets committed by the group but no state means the state file was lost."""
        self._reset_checked = True
        try:
            if self.state.get_meta("observation_start") is not None:
                return
        except StateUnavailable:  # a shared state that is away: ask again at the next poll
            self._reset_checked = False
            return
        try:
            committed = [self.consumer.committed(tp, timeout_ms=1000) for tp in self._assigned]
        except KafkaError:
            return
        if any(offset is not None for offset in committed):
            self.metrics.state_reset.set(1)
            log.warning(
                "the group has committed offsets but the state is empty: was the state file "
                "deleted? first-seen detection learns again from now",
                extra={"group": self.kafka.group_id},
            )

    def _state_up(self, up: bool) -> None:
        self._state_ok = up
        self.metrics.state_up.set(1 if up else 0)

    def _back_pressure(self, exc: Exception) -> None:
        if isinstance(exc, StateUnavailable):
            self._state_up(False)
        if self._failing_since is None:  # since the failed checkpoint began, not ended
            self._failing_since = self._checkpoint_since or time.monotonic()
        delay = self.backoff.fail(time.monotonic())
        self._pause_all()
        log.warning(
            "checkpoint failed; partitions paused until it succeeds",
            extra={
                "error": _describe(exc),
                "retry_in_s": round(delay, 3),
                "attempt": self.backoff.failures,
                "pending_findings": len(self.batch.findings),
                "pending_dead_letters": len(self.batch.dead_letters),
            },
        )

    def _pause_all(self) -> None:
        assigned = self.consumer.assignment()
        if assigned:
            self.consumer.pause(*assigned)

    def _resume_all(self) -> None:
        log.info("checkpoint succeeded again; resuming", extra={"attempts": self.backoff.failures})
        self.backoff.reset()
        paused = self.consumer.paused()
        if paused:
            self.consumer.resume(*paused)

    def _commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit offsets of partitions still owned (a lost partition is the new owner's)."""
        owned = self.consumer.assignment()
        commit = {
            tp: OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in offsets.items()
            if (tp := TopicPartition(topic, partition)) in owned
        }
        if not commit:
            return
        try:
            self.consumer.commit(commit, timeout_ms=self._commit_timeout_ms)
        except KafkaError as exc:
            raise CommitFailed(_describe(exc)) from exc
        self.lag.committed(offsets)

    # -- rebalances (called by HandoverListener on kafka-python's IO thread) --------------------

    def partitions_assigned(self, assigned: Collection[Any]) -> None:
        self._assigned = frozenset(assigned)
        self._outbox_owned = self._assigned
        self.delivery.pending = True  # what the previous owner left in the outbox is ours now
        self._reassigned = True
        self.lag.keep_only(self._assigned)
        self.metrics.ready.set(1 if self._assigned else 0)
        log.info("partitions assigned", extra={"partitions": _names(assigned)})

    def partitions_revoked(self, revoked: Collection[Any]) -> bool:
        self._assigned = self._assigned - frozenset(revoked)
        self.metrics.ready.set(1 if self._assigned else 0)
        if revoked:
            log.info("partitions revoked", extra={"partitions": _names(revoked)})
        owed = not self.batch.empty or self.delivery.pending
        return bool(revoked) and not self.closing and owed

    def hand_over(self) -> None:
        """Checkpoint before the partitions move; abandon the batch if that cannot succeed."""
        started = time.monotonic()
        pending = len(self.batch.findings), self.batch.messages
        with self._lock:
            try:
                retry_checkpoint(
                    self.checkpointer,
                    self.batch,
                    Backoff(self.backoff.initial, self.backoff.maximum),
                    deadline=started + HANDOVER_BUDGET_S,
                    give_up=lambda: self.closing or self._stop.is_set(),
                )
            except CheckpointError as exc:
                log.warning(
                    "hand-over checkpoint failed; the new owner re-reads the batch",
                    extra={"error": _describe(exc)},
                )
                self.checkpointer.abandon(self.batch)
            else:
                seconds = round(time.monotonic() - started, 3)
                log.info(
                    "checkpointed before the hand-over",
                    extra={"findings": pending[0], "messages": pending[1], "seconds": seconds},
                )
            self.backoff.reset()

    def partitions_lost(self, lost: Collection[Any]) -> None:
        log.warning(
            "partitions lost; dropping uncommitted work", extra={"partitions": _names(lost)}
        )
        self._assigned = frozenset()
        self.metrics.ready.set(0)
        with self._lock:
            self.checkpointer.abandon(self.batch)
            self.backoff.reset()

    # -- clients --------------------------------------------------------------------------------

    def _default_consumer(self) -> KafkaConsumer:
        return KafkaConsumer(**self._consumer_options)

    def _default_producer(self) -> KafkaProducer:
        return KafkaProducer(**producer_options(self.kafka, self.settings.resolve))


def _names(partitions: Collection[Any]) -> list[str]:
    return sorted(f"{tp.topic}[{tp.partition}]" for tp in partitions)


def _describe(exc: BaseException) -> str:
    """``Type: text`` once (kafka-python's messages often start with their type already)."""
    text, kind = str(exc), type(exc).__name__
    return (text if text.startswith(kind) else f"{kind}: {text}")[:500]
