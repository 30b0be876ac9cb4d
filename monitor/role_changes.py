"""IAM role changes on the input: applied to the role catalog at once, then judged.

Why a second entry point next to ``Detector.detect``: a change to a role is not a role
assumption, and detectors that judge changes need what the role looked like *before* it, which
only the catalog knows at the moment the change is applied. A detector takes part by also
implementing :class:`ChangeDetector`; it stays in the one registry, so ``role-monitor detectors``
lists it and ``detectors.<id>.enabled`` / ``severity`` work as for any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from detectors.base import DetectionContext, Detector
from monitor.config import Settings
from monitor.enrich import Enricher
from monitor.findings import Finding
from monitor.inventory.catalog import RoleLookup
from monitor.inventory.changes import RoleChange, parse_role_change
from monitor.metrics import Metrics
from monitor.state import StateStore

log = logging.getLogger(__name__)


@runtime_checkable
class ChangeDetector(Protocol):
    """A detector that also judges IAM role changes."""

    id: str

    def detect_change(
        self, change: RoleChange, before: RoleLookup, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """Findings on ``change``; ``before`` is the role as known just before it."""
        ...


class RoleChangeHandler:
    """Recognises role-change records, updates the catalog, runs the change detectors."""

    def __init__(
        self,
        settings: Settings,
        enricher: Enricher,
        detectors: Sequence[Detector],
        state: StateStore,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.enricher = enricher
        self.detectors = [d for d in detectors if isinstance(d, ChangeDetector)]
        self.state = state
        self.metrics = metrics

    def handle(self, record: dict[str, Any]) -> list[Finding] | None:
        """Findings of a role-change record; None when the record is no role change."""
        change = parse_role_change(record)
        if change is None:
            return None
        if not self.state.first_copy(f"iam:{change.event_id}", change.event_time):
            self.metrics.records.labels("duplicate").inc()
            return []
        self.metrics.records.labels("processed").inc()
        before = self.enricher.catalog.apply_change(change)
        ctx = DetectionContext(
            settings=self.settings,
            org=self.enricher.org,
            enricher=self.enricher,
            state=self.state,
            now=change.event_time,
            observation_start=self.state.observation_start(change.event_time),
        )
        found: list[Finding] = []
        for detector in self.detectors:
            found.extend(self._isolated(detector, change, before, ctx))
        return found

    def _isolated(
        self,
        detector: ChangeDetector,
        change: RoleChange,
        before: RoleLookup,
        ctx: DetectionContext,
    ) -> list[Finding]:
        """One detector call; an exception is logged and counted, never stops the others."""
        try:
            return list(detector.detect_change(change, before, ctx))
        except Exception:
            log.exception("detector %s failed on change %s", detector.id, change.event_id)
            self.metrics.detector_errors.labels(detector.id).inc()
            return []
