"""Time in detectors: learning periods, sliding windows and one finding per burst (event time).

Kept apart from the detectors so that every threshold detector means the same thing by
"within the window" and "one finding per burst", and so that the work per event stays bounded
by the threshold, however hard one principal hammers STS.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from detectors import jsontext
from detectors.base import DetectionContext
from monitor.intake.clock import minus, plus
from monitor.state.documents import Codec
from monitor.state.store import StateStore


def learning(ctx: DetectionContext, period: timedelta, at: datetime) -> bool:
    """True while the monitor is still learning: ``period`` has not passed since it first saw
    an event. Baselines are filled then but nothing is reported as new, because everything is."""
    return at < plus(ctx.observation_start, period)


def human(delta: timedelta) -> str:
    """``5m``, ``1h``, ``7d``: durations the way the config writes them, for titles."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class BurstGate:
    """Lets one finding out per burst.

    A burst opens when a detector says its window met the condition, and stays open while
    events keep coming: it closes only after ``window`` passes with no event for the key. So a
    principal hammering a role for an hour yields one finding, not one every 5 minutes, and the
    finding's dedup key (key + burst start) differs from that of the next, separate burst.
    """

    def __init__(self, namespace: str, window: timedelta) -> None:
        self.namespace = f"{namespace}:burst"
        self.window = window

    def holding(self, state: StateStore, key: str, at: datetime) -> bool:
        """True (and the burst kept open) when a burst of ``key`` is still open at ``at``."""
        held = state.recall_doc(self.namespace, key, at, BURST)
        if held is None:
            return False
        start, last = held
        self._hold(state, key, start, max(at, last))
        return True

    def open(self, state: StateStore, key: str, start: datetime, at: datetime) -> datetime:
        """Open a burst that started at ``start``; returns the start (for the dedup key)."""
        self._hold(state, key, start, at)
        return start

    def _hold(self, state: StateStore, key: str, start: datetime, last: datetime) -> None:
        # ``last`` never moves back, so a late (out-of-order) event cannot close a burst early.
        state.remember_doc(self.namespace, (key,), (start, last), plus(last, self.window), BURST)


class EventWindow:
    """Every event of a key within ``window``, in the state store's window table.

    Detectors stop adding while a burst is open (see :class:`BurstGate`) and clear the window
    when one opens, so a key never holds more than about ``threshold`` rows.
    """

    def __init__(self, namespace: str, window: timedelta) -> None:
        self.namespace = namespace
        self.window = window

    def add(
        self, state: StateStore, key: str, at: datetime, item: str
    ) -> list[tuple[datetime, str]]:
        """Add an entry; return the entries of the window ending at the key's newest entry,
        oldest first (so an entry that arrives late still counts with its neighbours)."""
        since = minus(at, self.window)
        state.trim_window(self.namespace, key, since)
        state.add_to_window(self.namespace, key, at, item)
        entries = state.window(self.namespace, key, since)
        newest = entries[-1][0]
        return [(when, what) for when, what in entries if when >= minus(newest, self.window)]

    def clear(self, state: StateStore, key: str) -> None:
        state.clear_window(self.namespace, key)


class DistinctWindow:
    """The distinct items of a key within ``window`` with when each was last seen.

    Kept as one expiring fact per key and capped at ``limit`` items (the newest), because a
    detector that counts distinct items only needs to know whether there are ``limit`` of them:
    a job assuming the same role ten thousand times an hour stays one entry.
    """

    def __init__(self, namespace: str, window: timedelta, limit: int) -> None:
        self.namespace = namespace
        self.window = window
        self.limit = limit

    def add(self, state: StateStore, key: str, at: datetime, item: str) -> dict[str, datetime]:
        """Record ``item`` at ``at``; return the items seen within the window, by last sighting."""
        stored = state.recall_doc(self.namespace, key, minus(at, self.window), SIGHTINGS)
        seen = dict(stored) if stored else {}  # a copy: the cached one is shared
        seen[item] = max(at, seen.get(item, at))
        newest = max(seen.values())
        since = minus(newest, self.window)
        current = {name: when for name, when in seen.items() if when >= since}
        kept = dict(sorted(current.items(), key=lambda pair: pair[1])[-self.limit :])
        state.remember_doc(self.namespace, (key,), kept, plus(newest, self.window), SIGHTINGS)
        return kept

    def clear(self, state: StateStore, key: str) -> None:
        state.forget(self.namespace, key)


#: A burst's (start, last), kept decoded in the state's cache (monitor/state/documents.py); the
#: text is what it always was, so bursts held in a state file written before still read.
Burst = tuple[datetime, datetime]


def _burst_text(held: Burst) -> str:
    return jsontext.dumps({"start": held[0].isoformat(), "last": held[1].isoformat()})


def _burst(text: str) -> Burst:
    held = jsontext.loads(text)
    return datetime.fromisoformat(held["start"]), datetime.fromisoformat(held["last"])


def _sightings_text(seen: dict[str, datetime]) -> str:
    return jsontext.dumps({name: when.isoformat() for name, when in seen.items()})


def _sightings(text: str) -> dict[str, datetime]:
    return {name: datetime.fromisoformat(when) for name, when in dict(jsontext.loads(text)).items()}


BURST: Codec[Burst] = Codec(_burst_text, _burst)
#: A distinct window's items by last sighting.
SIGHTINGS: Codec[dict[str, datetime]] = Codec(_sightings_text, _sightings)
