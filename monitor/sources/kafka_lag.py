"""Consumer lag for the metrics endpoint, computed in the consumer loop and read at scrape time.

The Prometheus scrape runs on another thread, and the consumer is not thread-safe, so the scrape
never touches it: the loop refreshes a snapshot every few seconds from values the client already
holds (each partition's high watermark from fetch responses) and the offsets this instance
committed, and the collector reads the snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from kafka.errors import KafkaError

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 5.0


class LagTracker:
    def __init__(self, refresh_every: float = REFRESH_EVERY_S) -> None:
        self.refresh_every = refresh_every
        self._committed: dict[tuple[str, int], int] = {}
        self._snapshot: list[tuple[str, int, int]] = []
        self._next_refresh = 0.0

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
        for tp in sorted(consumer.assignment()):
            lag = self._lag(consumer, tp)
            if lag is not None:
                rows.append((tp.topic, tp.partition, lag))
        self._snapshot = rows

    def _lag(self, consumer: Any, tp: Any) -> int | None:
        end = consumer.highwater(tp)
        if end is None:
            return None
        base = self._committed.get((tp.topic, tp.partition))
        if base is None:
            # Nothing committed by this instance yet: the read position stands in for it.
            try:
                base = consumer.position(tp, timeout_ms=200)
            except KafkaError as exc:
                log.debug("no position for lag", extra={"error": str(exc)})
                return None
        return None if base is None else max(int(end) - int(base), 0)
