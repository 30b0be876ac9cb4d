"""Consumer lag for the metrics endpoint, computed in the consumer loop and read at scrape time.

The Prometheus scrape runs on another thread, and the consumer is not thread-safe, so the scrape
never touches it: the loop refreshes a snapshot every few seconds and the collector reads it.
The end of each partition comes from the broker (``end_offsets``, one round trip for every
assigned partition, capped at ``END_OFFSETS_TIMEOUT_MS``), not from the fetcher's high watermark:
a paused partition is not fetched, so its high watermark stops where the outage began and the
lag would stay flat while the backlog grows. The start is the committed offset (the group's at
assignment, then this instance's own commits), so lag counts records read but not committed
too: while a sink is down it grows. When the broker does not answer, the high watermark stands
in and the broker is not asked again for ``BROKER_RETRY_S`` (the loop must not stall).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from kafka.errors import KafkaError

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 5.0
END_OFFSETS_TIMEOUT_MS = 1000
BROKER_RETRY_S = 30.0


class LagTracker:
    def __init__(self, from_beginning: bool = True, refresh_every: float = REFRESH_EVERY_S) -> None:
        self.from_beginning = from_beginning
        self.refresh_every = refresh_every
        self._committed: dict[tuple[str, int], int] = {}
        self._snapshot: list[tuple[str, int, int]] = []
        self._next_refresh = 0.0
        self._broker_retry_at = 0.0

    def committed(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self._committed.update(offsets)

    def keep_only(self, assigned: Collection[Any]) -> None:
        """Forget partitions this instance no longer owns (their lag is someone else's)."""
        owned = {(tp.topic, tp.partition) for tp in assigned}
        self._committed = {key: value for key, value in self._committed.items() if key in owned}
        self._snapshot = [row for row in self._snapshot if row[:2] in owned]

    def snapshot(self) -> list[tuple[str, int, int]]:
        """``(topic, partition, lag)`` rows; safe to call from any thread."""
        return list(self._snapshot)

    def refresh(self, consumer: Any, now: float) -> None:
        """Recompute the snapshot (at most every ``refresh_every`` seconds)."""
        if consumer is None or now < self._next_refresh:
            return
        self._next_refresh = now + self.refresh_every
        rows = []
        lookups = 1  # broker round trips allowed per refresh: an outage must not stall the loop
        assigned = sorted(consumer.assignment())
        ends = self._ends(consumer, assigned, now) if assigned else {}
        for tp in assigned:
            key = (tp.topic, tp.partition)
            if key not in self._committed and lookups > 0:
                lookups -= 1
                start = self._start(consumer, tp)
                if start is not None:
                    self._committed[key] = start
                    lookups += 1  # it answered: the broker is there
            end = ends.get(tp, consumer.highwater(tp))
            if end is not None and key in self._committed:
                rows.append((tp.topic, tp.partition, max(int(end) - self._committed[key], 0)))
        self._snapshot = rows

    def _ends(self, consumer: Any, assigned: list[Any], now: float) -> dict[Any, int]:
        """End offsets from the broker (empty while it is not answering: high watermarks)."""
        if now < self._broker_retry_at:
            return {}
        try:
            ends = consumer.end_offsets(assigned, timeout_ms=END_OFFSETS_TIMEOUT_MS)
        except KafkaError as exc:
            self._broker_retry_at = now + BROKER_RETRY_S
            log.debug("no end offsets for lag", extra={"error": str(exc)})
            return {}
        return {tp: int(offset) for tp, offset in ends.items() if offset is not None}

    def _start(self, consumer: Any, tp: Any) -> int | None:
        """The group's committed offset of a newly owned partition, else where reading began.

        With no commit yet, reading began at the log start (``earliest``) or where the consumer
        first positioned itself (``latest``). One broker round trip per partition and
        assignment, on the consumer's own thread.
        """
        try:
            committed = consumer.committed(tp, timeout_ms=1000)
            if committed is None and self.from_beginning:
                committed = consumer.beginning_offsets([tp], timeout_ms=1000).get(tp)
            elif committed is None:
                committed = consumer.position(tp, timeout_ms=1000)
        except KafkaError as exc:
            log.debug("no committed offset for lag yet", extra={"error": str(exc)})
            return None
        return None if committed is None else int(committed)
