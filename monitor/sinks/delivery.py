"""Delivering findings through a transactional outbox: once per finding and sink, across crashes.

The one memory of what was sent is the state store (see docs/scaling.md, "Delivery"):

1. :meth:`Delivery.enqueue` marks each new finding delivered (a re-read of the same input finds
   the mark and enqueues nothing) and stages one outbox row per finding and sink; the caller's
   checkpoint writes the rows with :meth:`Delivery.stage` and commits them in the SAME
   transaction as the state (and, in a group, the claims) that produced them;
2. after the offsets are committed, :meth:`Delivery.drain` sends what the outbox holds, sink by
   sink in chunks of the sink's ``batch`` (1 unless the sink deduplicates), and drops each
   chunk's rows once the sink took it, in a transaction of its own.

A kill anywhere before (1) commits redoes the input (nothing was sent); anywhere after, the
restart (or the instance that takes the partition over: rows are scoped by partition) finds the
rows and sends them, once. The one repeat left: a chunk the sink took while the process died
before its rows were dropped, resent at restart; sinks that cannot deduplicate send chunks of
one finding, so at most that finding repeats (see each sink's ``dedup`` note). A failing sink
raises :class:`DeliveryFailed` after the others were served; its rows wait for the next drain.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence

from monitor import crashpoints
from monitor.findings import Finding
from monitor.findings import finding_id as _finding_id
from monitor.metrics import Metrics
from monitor.sinks.base import Sink, SinkError
from monitor.sinks.pages import event_of, one_per_event, pages
from monitor.state.sqlite import OutboxRow
from monitor.state.store import StateStore

log = logging.getLogger(__name__)

#: Scope of findings that come from no Kafka partition (``replay``, tests).
LOCAL = "local"
#: Outbox rows read per query while draining.
DRAIN_ROWS = 1000


class DeliveryFailed(Exception):
    """At least one sink could not take the findings; retry before committing."""


def finding_id(finding: Finding) -> str:
    """The finding's stable id (``Finding.finding_id``), kept here for existing callers."""
    return _finding_id(finding.detector, finding.dedup_key, finding.assumption_id)


class Delivery:
    def __init__(self, sinks: Iterable[Sink], state: StateStore, metrics: Metrics) -> None:
        self.sinks = list(sinks)
        self.state = state
        self.metrics = metrics
        #: Rows enqueued since the last state commit: written again if that commit failed
        #: (the delivered marks survive in the state's cache, the rows would not).
        self._staged: list[OutboxRow] = []
        #: Findings marked delivered since the last state commit (see :meth:`retract`).
        self._marked: list[str] = []
        #: Findings delivered everywhere since the last log line, per detector.
        self._delivered: Counter[str] = Counter()
        #: True while the outbox may hold rows (the last drain did not empty it).
        self.pending = True

    # -- 1. into the outbox (with the state) ------------------------------------------------------

    def enqueue(self, findings: Sequence[Finding], scopes: Sequence[str] | str = LOCAL) -> int:
        """Mark new findings delivered and stage their outbox rows; how many were new.

        ``scopes``: one per finding, or one for all (the Kafka partition, ``topic:partition``).
        """
        if not findings:
            return 0
        scope_of = [scopes] * len(findings) if isinstance(scopes, str) else list(scopes)
        # One query for the ids a shared state does not hold yet, before any is marked.
        self.state.prefetch_delivered([f.finding_id for f in findings])
        fresh: list[Finding] = []
        scope_by_event: dict[str, str] = {}
        for finding, scope in zip(findings, scope_of, strict=True):
            if self.state.mark_delivered(finding.finding_id, finding.event_time):
                self._marked.append(finding.finding_id)
                fresh.append(finding)
                scope_by_event[event_of(finding)] = scope
        if not fresh:
            return 0
        grouped = one_per_event(fresh)  # paging sinks: one notification per event
        for sink in self.sinks:
            for item in grouped if pages(sink) else fresh:
                scope = scope_by_event[event_of(item)]
                at = item.event_time.timestamp()
                self._staged.append((item.finding_id, sink.name, scope, at, item.to_json()))
        self.pending = True
        return len(fresh)

    def stage(self) -> None:
        """Write the staged rows into the state's open transaction (again after a failure)."""
        self.state.outbox_put(self._staged)

    def committed(self) -> None:
        """The state commit that held the staged rows succeeded."""
        self._end_attempt()

    def retract(self) -> None:
        """A checkpoint failed before its commit: unmark and unstage what it enqueued.

        Its retry claims again, and in a group another instance may have won a claim
        meanwhile; what the retry enqueues is then only what it won (rows kept from the
        failed attempt would page findings another instance pages too).
        """
        for finding_id in self._marked:
            self.state.unmark_delivered(finding_id)
        self._end_attempt()

    def forget(self) -> None:
        """The state was rolled back: its marks are gone, so are the rows staged with them."""
        self._end_attempt()

    def _end_attempt(self) -> None:
        """What one checkpoint attempt staged and marked is settled (committed or undone)."""
        self._staged.clear()
        self._marked.clear()

    # -- 2. out of the outbox (after the offsets) -------------------------------------------------

    def drain(self, scopes: Sequence[str] | None = None, commit: bool = True) -> int:
        """Send every row of ``scopes`` (None: all) the outbox holds; findings sent.

        Raises DeliveryFailed, once every healthy sink was served, when any sink failed.
        """
        by_name = {sink.name: sink for sink in self.sinks}
        failed: set[str] = set()
        sent: set[str] = set()
        while True:
            rows = [r for r in self.state.outbox_rows(scopes, DRAIN_ROWS) if r[1] not in failed]
            if not rows:
                break
            for name, owed in _by_sink(rows).items():
                sink = by_name.get(name)
                if sink is None:  # no longer configured: nobody to owe it to
                    log.warning("dropping %d findings owed to sink %s", len(owed), name)
                    self.state.outbox_done(name, [row[0] for row in owed], commit)
                elif not self._send(sink, owed, commit, sent):
                    failed.add(name)
        self.pending = bool(failed)
        if failed:
            raise DeliveryFailed(", ".join(sorted(failed)))
        self._log()
        return len(sent)

    def _send(self, sink: Sink, rows: list[OutboxRow], commit: bool, sent: set[str]) -> bool:
        """Chunks of ``sink.batch`` rows, each dropped from the outbox once taken."""
        size = max(int(getattr(sink, "batch", 1)), 1)
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            findings = [Finding.model_validate_json(row[4]) for row in chunk]
            crashpoints.reached("sink_send")
            try:
                sink.send(findings)
                sink.flush()
            except SinkError as exc:
                log.warning("sink %s failed: %s", sink.name, exc)
                self.metrics.alerts.labels(sink.name, "failed").inc(len(rows) - start)
                self.metrics.sink_up.labels(sink.name).set(0)
                return False
            crashpoints.reached("sink_sent")
            ids = [row[0] for row in chunk]
            self.state.outbox_done(sink.name, ids, commit)
            self.metrics.alerts.labels(sink.name, "delivered").inc(len(chunk))
            self.metrics.sink_up.labels(sink.name).set(1)
            sent.update(ids)
            if sink is self.sinks[-1]:
                self._delivered.update(finding.detector for finding in findings)
        return True

    # -- for callers without a checkpoint of their own (tests, tools) -----------------------------

    def deliver(self, findings: Sequence[Finding]) -> int:
        """Enqueue and drain at once, committing nothing (the caller's state commit does);
        how many findings were new. Rows still owed from an earlier call are sent too."""
        fresh = self.enqueue(findings)
        self.stage()
        self.committed()
        self.drain(None, commit=False)
        return fresh

    def flush(self) -> None:
        for sink in self.sinks:
            try:
                sink.flush()
            except SinkError as exc:
                self.metrics.sink_up.labels(sink.name).set(0)
                raise DeliveryFailed(sink.name) from exc

    def checkpoint_done(self) -> None:
        """Kept for callers of the old interface: the drain logs its own line."""
        self._log()

    def _log(self) -> None:
        """One line per drain that delivered findings: when each page went out, not a line
        per finding."""
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


def _by_sink(rows: Sequence[OutboxRow]) -> dict[str, list[OutboxRow]]:
    grouped: dict[str, list[OutboxRow]] = {}
    for row in rows:
        grouped.setdefault(row[1], []).append(row)
    return grouped
