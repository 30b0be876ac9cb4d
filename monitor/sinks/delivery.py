"""Delivering findings to every sink exactly once per finding, across restarts.

A finding is recorded as delivered in the state store (same transaction as the baselines);
a restart that reprocesses uncommitted input therefore finds it delivered and pages nobody
twice. A sink that fails raises :class:`DeliveryFailed`; the caller retries later and commits
nothing meanwhile, so nothing is lost either.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence

from monitor.findings import Finding
from monitor.metrics import Metrics
from monitor.sinks.base import Sink, SinkError
from monitor.sinks.pages import one_per_event, pages
from monitor.state.store import StateStore

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """At least one sink could not take the findings; retry before committing."""


def finding_id(finding: Finding) -> str:
    raw = f"{finding.detector}\x00{finding.dedup_key}\x00{finding.assumption_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Delivery:
    def __init__(self, sinks: Iterable[Sink], state: StateStore, metrics: Metrics) -> None:
        self.sinks = list(sinks)
        self.state = state
        self.metrics = metrics
        #: (finding id, sink) pairs already sent in the current checkpoint, so a retry after a
        #: partial failure does not resend to the sinks that succeeded.
        self._sent: set[tuple[str, str]] = set()
        #: Findings delivered everywhere since the last checkpoint, per detector (for its log).
        self._delivered: Counter[str] = Counter()

    def deliver(self, findings: Sequence[Finding]) -> int:
        """Send new findings to every sink; returns how many were new."""
        # One query for the ids a shared state does not hold yet, before any is marked: a
        # database lost half-way must not leave some marked delivered but never sent.
        self.state.prefetch_delivered([finding_id(f) for f in findings])
        fresh = [f for f in findings if self.state.mark_delivered(finding_id(f), f.event_time)]
        if not fresh:
            return 0
        failures: list[str] = []
        grouped = one_per_event(fresh)  # paging sinks: one notification per event
        for sink in self.sinks:
            items = grouped if pages(sink) else fresh
            todo = [f for f in items if (finding_id(f), sink.name) not in self._sent]
            if not todo:
                continue
            try:
                sink.send(todo)
            except SinkError as exc:
                log.warning("sink %s failed: %s", sink.name, exc)
                self.metrics.alerts.labels(sink.name, "failed").inc(len(todo))
                self.metrics.sink_up.labels(sink.name).set(0)
                failures.append(sink.name)
                continue
            self.metrics.alerts.labels(sink.name, "delivered").inc(len(todo))
            self.metrics.sink_up.labels(sink.name).set(1)
            self._sent.update((finding_id(f), sink.name) for f in todo)
        if failures:
            for finding in fresh:  # not delivered everywhere yet: try again next time
                self.state.unmark_delivered(finding_id(finding))
            raise DeliveryFailed(", ".join(failures))
        self._delivered.update(finding.detector for finding in fresh)
        return len(fresh)

    def flush(self) -> None:
        for sink in self.sinks:
            try:
                sink.flush()
            except SinkError as exc:
                self.metrics.sink_up.labels(sink.name).set(0)
                raise DeliveryFailed(sink.name) from exc

    def checkpoint_done(self) -> None:
        """Forget per-sink progress once the checkpoint (state + offsets) is committed.

        A checkpoint that delivered findings says so in one line: the log then shows when each
        page went out, without a line per finding.
        """
        self._sent.clear()
        if self._delivered:
            log.info(
                "delivered %d findings",
                self._delivered.total(),
                extra={
                    "by_detector": dict(sorted(self._delivered.items())),
                    "sinks": [sink.name for sink in self.sinks],
                },
            )
            self._delivered.clear()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
