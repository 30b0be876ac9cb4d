"""The one place a record's outcome becomes both a summary count and a metric.

Why one place: counting in several (pipeline, role changes, Kafka intake) let them disagree (a
``CreateRole`` record was ``processed`` in the metrics and nowhere in the summary). Everything
the closing summary and the ``role_monitor_records`` / ``dead_letters`` / ``findings`` /
``detector_errors`` counters say goes through :class:`Outcomes`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.findings import Finding
from monitor.intake.envelopes import Rejection
from monitor.metrics import Metrics
from monitor.state.errors import StateUnavailable

log = logging.getLogger(__name__)


@dataclass
class Stats:
    """Counts for the closing summary (not metrics: these may be keyed by anything)."""

    messages: int = 0
    records: int = 0
    processed: int = 0
    skipped: int = 0
    duplicates: int = 0
    #: Processed events by kind: assumption, role_change, provider_change, organization_change.
    kinds: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    detector_errors: Counter[str] = field(default_factory=Counter)
    #: Event-time span of the events read, duplicates included (``learn`` dates its learning
    #: period from the oldest, whatever order the files came in).
    oldest: datetime | None = None
    newest: datetime | None = None

    def saw(self, at: datetime) -> None:
        if self.oldest is None or at < self.oldest:
            self.oldest = at
        if self.newest is None or at > self.newest:
            self.newest = at


class Outcomes:
    """Counts outcomes into ``stats`` and ``metrics`` together."""

    def __init__(self, stats: Stats, metrics: Metrics) -> None:
        self.stats = stats
        self.metrics = metrics
        # Labelled children looked up once: labels() costs more than the inc() it serves, and
        # the skipped count alone runs for nine records in ten.
        self._records = {
            outcome: metrics.records.labels(outcome)
            for outcome in ("processed", "skipped", "duplicate", "rejected")
        }

    def message(self) -> None:
        self.stats.messages += 1

    def skipped(self, records: int = 1) -> None:
        """Out of scope (or a change that failed, so changed nothing)."""
        self.stats.records += records
        self.stats.skipped += records
        self._records["skipped"].inc(records)

    def duplicate(self) -> None:
        """The other copy of a cross-account call, or a record read twice."""
        self.stats.records += 1
        self.stats.duplicates += 1
        self._records["duplicate"].inc()

    def processed(self, kind: str) -> None:
        self.stats.records += 1
        self.stats.processed += 1
        self.stats.kinds[kind] += 1
        self._records["processed"].inc()

    def rejected(self, rejection: Rejection, record: bool = True) -> None:
        """A dead letter; ``record`` is False for pieces that never became a record."""
        if record:
            self.stats.records += 1
        self.stats.rejected[rejection.reason] += 1
        self._records["rejected"].inc()
        self.metrics.dead_letters.labels(rejection.reason).inc()

    def finding(self, finding: Finding) -> None:
        self.stats.findings[finding.detector] += 1
        self.metrics.findings.labels(finding.detector, finding.severity.value).inc()

    def suppressed(self, finding: Finding, reason: str) -> None:
        self.stats.suppressed[reason] += 1
        self.metrics.findings_suppressed.labels(finding.detector, reason).inc()

    def call(
        self, detector_id: str, event_id: str, hook: Callable[..., Any], *args: Any
    ) -> list[Finding]:
        """One detector hook; an exception is logged and counted and never stops the others."""
        try:
            return list(_iterable(hook(*args)))
        except StateUnavailable:
            raise  # the shared state is away: the record is read again, not judged without it
        except Exception:
            self.failed(detector_id, event_id)
            return []

    def run(
        self, hooks: Sequence[tuple[Any, Callable[..., Any]]], event_id: str, *args: Any
    ) -> list[Finding]:
        """Every hook (detector, bound method) in order, each isolated as by :meth:`call`.

        Why not :meth:`call` per hook: the loop runs ~7 hooks on every assumption, and a
        ``try`` costs nothing in Python 3.11 while a call frame per hook does. A hook that
        fails loses only its own findings (those it yielded before failing too), as there.
        """
        found: list[Finding] = []
        for detector, hook in hooks:
            try:
                result = hook(*args)
                if result is not None:
                    found += list(result)
            except StateUnavailable:
                raise
            except Exception:
                self.failed(detector.id, event_id)
        return found

    def failed(self, detector_id: str, event_id: str) -> None:
        """A detector hook raised: logged with its traceback and counted; the event goes on."""
        log.exception("detector %s failed on event %s", detector_id, event_id)
        self.stats.detector_errors[detector_id] += 1
        self.metrics.detector_errors.labels(detector_id).inc()


def _iterable(result: Iterable[Finding] | None) -> Iterable[Finding]:
    return () if result is None else result
