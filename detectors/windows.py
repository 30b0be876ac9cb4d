"""Time in detectors: learning periods and one-finding-per-burst sliding windows (event time).

Kept apart from the detectors so that every threshold detector means the same thing by
"within the window" and "one finding per burst".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from detectors.base import DetectionContext
from monitor.state import StateStore


def learning(ctx: DetectionContext, period: timedelta, at: datetime) -> bool:
    """True while the monitor is still learning: ``period`` has not passed since it first saw
    an event. Baselines are filled then but nothing is reported as new, because everything is."""
    return at < ctx.observation_start + period


@dataclass(frozen=True)
class Burst:
    """An open burst: when it started (the oldest entry of the window that opened it)."""

    start: datetime
    opened_now: bool


class BurstWindow:
    """A sliding window per key with a gate that lets one finding out per burst.

    A burst opens when the window's entries meet the detector's condition, and stays open while
    entries keep arriving: it closes only after ``window`` passes with no entry for the key.
    So a principal hammering a role for an hour yields one finding, not one every 5 minutes,
    and the finding's dedup key (key + burst start) differs from the next, separate burst's.
    """

    def __init__(self, namespace: str, window: timedelta) -> None:
        self.namespace = namespace
        self.window = window

    def add(
        self, state: StateStore, key: str, at: datetime, item: str
    ) -> list[tuple[datetime, str]]:
        """Add an entry; return the entries of the window ending at the key's newest entry,
        oldest first (so an entry that arrives late still counts with its neighbours)."""
        since = at - self.window
        state.trim_window(self.namespace, key, since)
        state.add_to_window(self.namespace, key, at, item)
        entries = state.window(self.namespace, key, since)
        newest = entries[-1][0]
        return [(when, what) for when, what in entries if when >= newest - self.window]

    def open_burst(self, state: StateStore, key: str, at: datetime) -> Burst | None:
        """The burst still open for ``key`` at ``at`` (and keep it open), or None."""
        stored = state.recall(self._bursts, key, at)
        if stored is None:
            return None
        held = json.loads(stored)
        start = datetime.fromisoformat(held["start"])
        self._hold(state, key, start, max(at, datetime.fromisoformat(held["last"])))
        return Burst(start, opened_now=False)

    def open(self, state: StateStore, key: str, start: datetime, at: datetime) -> Burst:
        """Open a burst that started at ``start``; it stays open until a quiet window passes."""
        self._hold(state, key, start, at)
        return Burst(start, opened_now=True)

    @property
    def _bursts(self) -> str:
        return f"{self.namespace}:burst"

    def _hold(self, state: StateStore, key: str, start: datetime, last: datetime) -> None:
        # ``last`` never moves back, so a late (out-of-order) entry cannot close a burst early.
        value = json.dumps({"start": start.isoformat(), "last": last.isoformat()})
        state.remember(self._bursts, key, value, last + self.window)


def human(delta: timedelta) -> str:
    """``5m``, ``1h``, ``7d``: durations the way the config writes them, for titles."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
