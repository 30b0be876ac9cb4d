"""decode → normalize → enrich → detect → (suppress, merge) → findings, for any source.

``run`` (Kafka) and ``replay`` (files) both feed :meth:`Pipeline.process` one message at a time
and deliver what it returns through :class:`monitor.sinks.delivery.Delivery`; only the sources
differ. Time is event time throughout: ``now`` is the newest ``eventTime`` seen, never the wall
clock.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from detectors.base import DetectionContext, Detector
from detectors.dispatch import Dispatch, Hook
from monitor.config.settings import Settings
from monitor.detect.outcomes import Outcomes, Stats
from monitor.detect.planned import PlannedWindows
from monitor.detect.role_changes import ChangeHandler
from monitor.detect.suppress import Suppressor
from monitor.findings import Finding, Severity
from monitor.intake.clock import REASON as IMPLAUSIBLE_TIME
from monitor.intake.clock import EventClock, StartVote, StreamMarks, minus
from monitor.intake.envelopes import Record, Rejection, decode
from monitor.intake.events import (
    Event,
    IdentityChange,
    OrganizationChange,
    ProviderChange,
    RoleChange,
    RoleEvent,
)
from monitor.intake.front_door import records_of
from monitor.intake.normalize import RecordRejected, normalize
from monitor.inventory.usage import record_usage
from monitor.metrics import Metrics
from monitor.state.errors import StateUnavailable
from monitor.state.store import StateStore
from monitor.trust.enrich import EnrichedEvent, Enricher

__all__ = ["PRUNE_EVERY", "Pipeline", "Processed", "Stats"]

log = logging.getLogger(__name__)

#: How often (in event time) expired state is deleted; each prune is a few indexed DELETEs.
PRUNE_EVERY = timedelta(hours=1)

#: The ``Stats.kinds`` key of each event type.
_KIND = {
    RoleEvent: "assumption",
    RoleChange: "role_change",
    ProviderChange: "provider_change",
    OrganizationChange: "organization_change",
    IdentityChange: "identity_change",
}


@dataclass(frozen=True)
class Processed:
    """What one message produced: findings to deliver and inputs to dead-letter."""

    findings: list[Finding]
    rejections: list[Rejection]


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        enricher: Enricher,
        detectors: Iterable[Detector],
        state: StateStore,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.enricher = enricher
        self.detectors = list(detectors)
        #: Shares ``self.detectors`` (a detector added before the first event is dispatched).
        self.dispatch = Dispatch(self.detectors)
        self.state = state
        self.metrics = metrics or Metrics()
        self.suppressor = Suppressor(settings.suppressions)
        self.planned = PlannedWindows(settings.maintenance_windows)
        self.stats = Stats()
        self.outcomes = Outcomes(self.stats, self.metrics)
        self.changes = ChangeHandler(enricher, self.detectors, state, self.outcomes)
        self.now: datetime | None = None
        #: Which event times may move ``now`` (``run`` sets ``max_age``; see
        #: monitor/intake/clock.py).
        self.clock = EventClock(settings.clock.max_ahead)
        #: What the clock follows: each stream's robust mark, not any one record's time.
        self.marks = StreamMarks(settings.clock.max_ahead)
        #: ``run`` only (a live stream, see ``_observation_start``); None: the first record.
        self.start_vote: StartVote | None = None
        #: Once the vote is decided (or the state had a start): no later record goes below it.
        self._start_floor: datetime | None = None
        self._pruned_at: datetime | None = None
        self._severity = {
            detector_id: Severity(config.severity)
            for detector_id, config in settings.detectors.items()
            if config.severity
        }
        self._series: dict[tuple[str, ...], Any] = {}
        self._record_claims: tuple[Any, ...] = ()

    def process(self, payload: bytes) -> Processed:
        """Every record of one message (any envelope); never raises for bad input.

        The front door of ``run`` and ``replay`` alike: a message that cannot hold an in-scope
        record (``monitor.intake.front_door.records_of``) is counted as one skipped record.
        """
        started = time.perf_counter()
        self.outcomes.message()
        findings: list[Finding] = []
        rejections: list[Rejection] = []
        records = records_of(payload)
        if records is None:
            self.outcomes.skipped()
            return Processed(findings, rejections)
        for decoded in records:
            if isinstance(decoded, Rejection):
                self.reject(decoded, rejections, record=False)
                continue
            record = functools.partial(_itself, decoded)
            self._guarded(self.process_record, decoded, record, findings, rejections)
        self.metrics.processing.observe(time.perf_counter() - started)
        return Processed(findings, rejections)

    def process_normalised(self, payload: bytes, events: Sequence[Event | None]) -> Processed:
        """:meth:`process` of a message whose records were decoded and normalised already, in
        a reading process (``replay``/``learn --jobs``): ``events[i]`` is what ``normalize``
        gave for the i-th record ``decode(payload)`` yields (the records of a message normalise
        without raising, else it comes through :meth:`process`). Same counts, same findings."""
        started = time.perf_counter()
        self.outcomes.message()
        findings: list[Finding] = []
        rejections: list[Rejection] = []
        for index, event in enumerate(events):
            record = functools.partial(_nth_record, payload, index)  # decoded if rejected only
            self._guarded(self.process_event, event, record, findings, rejections)
        self.metrics.processing.observe(time.perf_counter() - started)
        return Processed(findings, rejections)

    def _guarded(
        self,
        step: Callable[[Any], list[Finding]],
        item: Any,
        record: Callable[[], Record],
        findings: list[Finding],
        rejections: list[Rejection],
    ) -> None:
        """``step(item)`` for one record: its findings, or its rejection (``record()`` gives
        the record for the dead letter's sample)."""
        counted = self.stats.records
        try:
            findings.extend(step(item))
        except RecordRejected as exc:
            self.reject(Rejection(exc.reason, exc.detail, _sample(record())), rejections)
        except StateUnavailable:
            raise  # not the record's fault: the caller re-reads it once the state is back
        except Exception as exc:  # a bug must cost one record, not the stream
            log.exception("processing a record failed")
            detail = f"{type(exc).__name__}: {exc}"[:500]
            rejection = Rejection("processing_error", detail, _sample(record()))
            # Counted once: a record that failed after its outcome was counted stays one.
            self.reject(rejection, rejections, record=self.stats.records == counted)

    def process_record(self, record: Record) -> list[Finding]:
        """One record: its outcome counted once, its findings noise-controlled."""
        return self.process_event(normalize(record.data, record.envelope))

    def process_event(self, event: Event | None) -> list[Finding]:
        """One normalised record (None: out of scope), as :meth:`process_record` goes on."""
        if event is None:
            self.outcomes.skipped()
            return []
        self._advance_clock(event)  # every kind: a forged change time must not get in either
        self.stats.saw(event.event_time)  # after the check: an implausible time never counts
        if not self.state.first_copy(_copy_key(event), event.event_time):
            # The other copy of a cross-account call (or a record read twice): one event.
            self.outcomes.duplicate()
            return []
        # Claims (shared state only) ride on the findings they decide; see StateStore.settle.
        self._record_claims = self.state.take_claims()
        self.outcomes.processed(_KIND[type(event)])
        if isinstance(event, RoleEvent):
            enriched = self.enricher.enrich(event)
            record_usage(self.state, enriched)
            self._count_assumption(enriched)
            return self._noise_controlled(self._detect(enriched))
        ctx = self._context(event.event_time)
        changed = self.changes.handle(event, ctx)
        claims = self._record_claims + self.state.take_claims()
        for finding in changed:
            finding.add_claims(claims)
        return self._noise_controlled([self._with_severity(f) for f in changed])

    def _context(self, at: datetime) -> DetectionContext:
        """What every detector hook sees; ``now`` is the pipeline clock (``at`` until it runs).

        Never ``at`` past the clock: which event times may move the clock is ``_advance_clock``'s
        decision, and a change event's own time must not get around it.
        """
        return DetectionContext(
            settings=self.settings,
            org=self.enricher.org,
            enricher=self.enricher,
            state=self.state,
            now=self.now if self.now is not None else at,
            observation_start=self._observation_start(at),
        )

    def _observation_start(self, at: datetime) -> datetime:
        """The state's learning start; in ``run``, decided by the first few records' vote
        (monitor/intake/clock.py ``StartVote``) rather than by whichever record came first."""
        vote = self.start_vote
        if vote is None:
            return self.state.observation_start(at)
        if self._start_floor is None:
            stored = self.state.get_meta("observation_start")  # learned, or a restart
            if stored is not None:
                self._start_floor = datetime.fromisoformat(stored)
            else:
                start, decided = vote.offer(at)
                if not decided:
                    return start
                self._start_floor = start
                return self.state.observation_start(start)  # stored now
        # A group's start is the earliest any instance saw, so a record of another partition
        # may lower it: one within the vote's tolerance of this instance's start is such a
        # record, not a stray (the vote would have counted it). A stray old record must not
        # lower it. (Clamped at this instance's start instead, an earlier partition's first
        # sighting read before the instance that saw it first had stored its start was learned
        # silently, and its pair never paged.)
        if at < minus(self._start_floor, vote.tolerance):
            at = self._start_floor
        return self.state.observation_start(at)

    def _detect(self, ev: EnrichedEvent) -> list[Finding]:
        ctx = self._context(ev.event.event_time)
        event_id = ev.event.event_id
        detect, after = self.dispatch.hooks(ev)  # only the hooks that can act on ``ev``
        if self.state.shared:
            found = self._detect_claimed(detect, ev, ctx)
        else:  # a store of one's own makes no claims: nothing to attach between hooks
            found = self.outcomes.run(detect, event_id, ev, ctx)
        final = [self._with_severity(finding) for finding in found]
        if after:
            flagged = [finding for finding in final if self.suppressor.match(finding) is None]
            # Second pass: detectors that follow findings.
            self.outcomes.run(after, event_id, ev, ctx, flagged)
        return final

    def _detect_claimed(
        self, detect: list[Hook], ev: EnrichedEvent, ctx: DetectionContext
    ) -> list[Finding]:
        """The detect hooks on a shared store: each finding carries the claims it rests on."""
        found: list[Finding] = []
        for detector, hook in detect:
            self.state.take_claims()  # earlier claims decide nothing this detector reports
            reported = self.outcomes.call(detector.id, ev.event.event_id, hook, ev, ctx)
            claims = self._record_claims + self.state.take_claims()
            for finding in reported:
                finding.add_claims(claims)
            found.extend(reported)
        # As after every detector: claims no finding rests on are dropped, even when no detect
        # hook ran (enrichment's and the context's would otherwise ride on the next record).
        self.state.take_claims()
        return found

    def _noise_controlled(self, findings: list[Finding]) -> list[Finding]:
        kept: list[Finding] = []
        for finding in findings:
            rule = self.suppressor.match(finding)
            if rule is not None:
                self._suppressed(finding, "suppressed")
                continue
            window = self.settings.dedup.window
            if self.state.merge_repeat(finding.dedup_key, finding.event_time, window):
                self._suppressed(finding, "merged")
                continue
            finding.add_claims(self.state.take_claims())
            self.outcomes.finding(finding)
            kept.append(finding)
        return kept

    def _with_severity(self, finding: Finding) -> Finding:
        """The configured severity, then a planned window's annotation (it lowers from there)."""
        override = self._severity.get(finding.detector)
        finding = finding.model_copy(update={"severity": override}) if override else finding
        return self.planned.apply(finding)

    def _suppressed(self, finding: Finding, reason: str) -> None:
        self.outcomes.suppressed(finding, reason)

    def reject(self, rejection: Rejection, into: list[Rejection], record: bool = True) -> None:
        """Count ``rejection`` and add it to the dead letters ``into``."""
        self.outcomes.rejected(rejection, record=record)
        into.append(rejection)

    def _advance_clock(self, event: Event) -> None:
        """Move ``now`` to a plausible event time; an implausible one is rejected (dead letter)
        before it can reach the detectors, the clock or the observation start."""
        wall = datetime.now(UTC)
        why = self.clock.implausible(event.event_time, wall)
        if why is not None:
            raise RecordRejected(IMPLAUSIBLE_TIME, why)
        mark = self.marks.observe(event.event_time)
        if self.now is None or mark > self.now:
            self.now = mark
            self.metrics.last_event_time.set(mark.timestamp())
        age = wall - event.event_time
        self.metrics.event_age.observe(max(age.total_seconds(), 0.0))

    def _count_assumption(self, ev: EnrichedEvent) -> None:
        result = "success" if ev.event.succeeded else "failure"
        self._child("assumptions", ev.event.event_name, result, ev.category).inc()
        if ev.lookup.source != "iam":  # the live IAM source counts its own calls
            source = ev.lookup.source or "none"
            self._child("enrichment_lookups", source, ev.lookup.status.value).inc()

    def _child(self, metric: str, *labels: str) -> Any:
        """A labelled child of ``self.metrics.<metric>``, remembered (label sets are bounded)."""
        key = (metric, *labels)
        child = self._series.get(key)
        if child is None:
            child = self._series[key] = getattr(self.metrics, metric).labels(*labels)
        return child

    def prune(self) -> int:
        """Expire state older than the retention period (event time)."""
        if self.now is None:
            return 0
        self._pruned_at = self.now
        state = self.settings.state
        grace = minus(self.now, state.late_event_grace)
        return self.state.prune(minus(self.now, state.retention), now=grace)

    def maybe_prune(self) -> int:
        """:meth:`prune` at most once per hour of event time (called at checkpoints)."""
        if self.now is None:
            return 0
        if self._pruned_at is not None and self.now - self._pruned_at < PRUNE_EVERY:
            return 0
        return self.prune()


def _copy_key(event: Event) -> str:
    """What a second copy of ``event`` is recognised by."""
    return event.assumption_id if isinstance(event, RoleEvent) else event.copy_key


def _itself(record: Record) -> Record:
    return record


def _nth_record(payload: bytes, index: int) -> Record:
    """The ``index``-th record ``decode(payload)`` yields (a rejected record's sample)."""
    records = [item for item in decode(payload) if isinstance(item, Record)]
    return records[index]


def _sample(record: Record) -> bytes:
    try:
        return orjson.dumps(record.data)[:65536]
    except TypeError:
        return b""
