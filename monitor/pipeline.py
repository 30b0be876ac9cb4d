"""decode → normalize → enrich → detect → (suppress, merge) → findings, for any source.

``run`` (Kafka) and ``replay`` (files) both feed :meth:`Pipeline.process` one message at a time
and deliver what it returns through :class:`monitor.delivery.Delivery`; only the sources differ.
Time is event time throughout: ``now`` is the newest ``eventTime`` seen, never the wall clock.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from detectors.base import DetectionContext, Detector
from monitor.config import Settings
from monitor.enrich import EnrichedEvent, Enricher
from monitor.envelopes import Record, Rejection, decode
from monitor.events import RoleEvent
from monitor.findings import Finding, Severity
from monitor.inventory.usage import record_usage
from monitor.metrics import Metrics
from monitor.normalize import RecordRejected, normalize
from monitor.role_changes import RoleChangeHandler
from monitor.state import StateStore
from monitor.suppress import Suppressor

log = logging.getLogger(__name__)

#: How often (in event time) expired state is deleted; each prune is a few indexed DELETEs.
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class Stats:
    """Counts for the closing summary (not metrics: these may be keyed by anything)."""

    messages: int = 0
    records: int = 0
    processed: int = 0
    skipped: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    detector_errors: Counter[str] = field(default_factory=Counter)


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
        self.state = state
        self.metrics = metrics or Metrics()
        self.suppressor = Suppressor(settings.suppressions)
        self.changes = RoleChangeHandler(settings, enricher, self.detectors, state, self.metrics)
        self.stats = Stats()
        self.now: datetime | None = None
        self._pruned_at: datetime | None = None
        self._severity = {
            detector_id: Severity(config.severity)
            for detector_id, config in settings.detectors.items()
            if config.severity
        }
        # Labelled children looked up once: labels() costs more than the inc() it serves, and
        # the skipped count alone runs for nine records in ten.
        self._skipped = self.metrics.records.labels("skipped")
        self._duplicate = self.metrics.records.labels("duplicate")
        self._processed = self.metrics.records.labels("processed")
        self._series: dict[tuple[str, ...], Any] = {}

    def process(self, payload: bytes) -> Processed:
        """Every record of one message (any envelope); never raises for bad input."""
        started = time.perf_counter()
        self.stats.messages += 1
        findings: list[Finding] = []
        rejections: list[Rejection] = []
        for decoded in decode(payload):
            if isinstance(decoded, Rejection):
                self._reject(decoded, rejections)
                continue
            self.stats.records += 1
            try:
                findings.extend(self.process_record(decoded))
            except RecordRejected as exc:
                self._reject(Rejection(exc.reason, exc.detail, _sample(decoded)), rejections)
            except Exception as exc:  # a bug must cost one record, not the stream
                log.exception("processing a record failed")
                detail = f"{type(exc).__name__}: {exc}"[:500]
                self._reject(Rejection("processing_error", detail, _sample(decoded)), rejections)
        self.metrics.processing.observe(time.perf_counter() - started)
        return Processed(findings, rejections)

    def process_record(self, record: Record) -> list[Finding]:
        event = normalize(record.data, record.envelope)
        if event is None:
            changed = self.changes.handle(record.data)
            if changed is not None:  # an IAM role change: role metadata updated at once
                return self._noise_controlled([self._with_severity(f) for f in changed])
            self.stats.skipped += 1
            self._skipped.inc()
            return []
        self._advance_clock(event)
        if not self.state.first_copy(event.assumption_id, event.event_time):
            # The other copy of a cross-account call (or a record read twice): one assumption.
            self.stats.duplicates += 1
            self._duplicate.inc()
            return []
        self.stats.processed += 1
        self._processed.inc()
        enriched = self.enricher.enrich(event)
        record_usage(self.state, enriched)
        self._count_assumption(enriched)
        return self._noise_controlled(self._detect(enriched))

    def _detect(self, ev: EnrichedEvent) -> list[Finding]:
        assert self.now is not None
        ctx = DetectionContext(
            settings=self.settings,
            org=self.enricher.org,
            enricher=self.enricher,
            state=self.state,
            now=self.now,
            observation_start=self.state.observation_start(ev.event.event_time),
        )
        found: list[Finding] = []
        for detector in self.detectors:
            found.extend(self._isolated(detector, ev, detector.detect, ctx))
        final = [self._with_severity(finding) for finding in found]
        flagged = [finding for finding in final if self.suppressor.match(finding) is None]
        for detector in self.detectors:  # second pass: detectors that follow findings
            self._isolated(detector, ev, detector.after, ctx, flagged)
        return final

    def _isolated(
        self, detector: Detector, ev: EnrichedEvent, method: Callable[..., Any], *args: Any
    ) -> list[Finding]:
        """One detector call; an exception is logged and counted and never stops the others."""
        try:
            return list(method(ev, *args) or ())
        except Exception:
            log.exception("detector %s failed on event %s", detector.id, ev.event.event_id)
            self.stats.detector_errors[detector.id] += 1
            self.metrics.detector_errors.labels(detector.id).inc()
            return []

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
            self.stats.findings[finding.detector] += 1
            self.metrics.findings.labels(finding.detector, finding.severity.value).inc()
            kept.append(finding)
        return kept

    def _with_severity(self, finding: Finding) -> Finding:
        override = self._severity.get(finding.detector)
        return finding.model_copy(update={"severity": override}) if override else finding

    def _suppressed(self, finding: Finding, reason: str) -> None:
        self.stats.suppressed[reason] += 1
        self.metrics.findings_suppressed.labels(finding.detector, reason).inc()

    def _reject(self, rejection: Rejection, into: list[Rejection]) -> None:
        self.stats.rejected[rejection.reason] += 1
        self.metrics.records.labels("rejected").inc()
        self.metrics.dead_letters.labels(rejection.reason).inc()
        into.append(rejection)

    def _advance_clock(self, event: RoleEvent) -> None:
        if self.now is None or event.event_time > self.now:
            self.now = event.event_time
            self.metrics.last_event_time.set(event.event_time.timestamp())
        age = datetime.now(UTC) - event.event_time
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
        return self.state.prune(self.now - self.settings.state.retention, now=self.now)

    def maybe_prune(self) -> int:
        """:meth:`prune` at most once per hour of event time (called at checkpoints)."""
        if self.now is None:
            return 0
        if self._pruned_at is not None and self.now - self._pruned_at < PRUNE_EVERY:
            return 0
        return self.prune()


def _sample(record: Record) -> bytes:
    try:
        return orjson.dumps(record.data)[:65536]
    except TypeError:
        return b""
