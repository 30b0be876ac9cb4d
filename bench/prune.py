"""``python -m bench.prune``: the state prune with its index against a walk of the whole cache,
side by side in one process (monitor/state/due_rows.py).

A store of one's own on a SQLite file takes three days of a learn-like history: each hour
3,500 session facts (1 to 12 hours of life) and 1,700 assumption ids, a checkpoint every 12
hours, and a prune at every hour (as ``replay`` and ``learn`` prune once per hour of event
time). It prints the milliseconds per prune spent in the cache (the backend's DELETEs apart,
the same for both) and their ratio. The walk's cost grows with the cache (up to 300,000 rows),
the index's with the rows due, so the ratio grows with the history: ``learn`` of 90 days
prunes 2,160 times.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 72


def history(indexed: bool, folder: Path) -> float:
    """Seconds per prune spent on the cache (the backend's share taken out)."""
    store = StateStore(folder / f"{'indexed' if indexed else 'walked'}.db", cache_entries=10**7)
    if not indexed:
        store._cache.due = None  # the walk every prune made before the index
    backend_prune = store._backend.prune
    in_backend = 0.0

    def timed_backend(cutoffs: Any) -> int:
        nonlocal in_backend
        started = time.perf_counter()
        removed = backend_prune(cutoffs)
        in_backend += time.perf_counter() - started
        return removed

    store._backend.prune = timed_backend  # type: ignore[method-assign]
    rnd, total = random.Random(1), 0.0
    for hour in range(HOURS):
        start = T0 + timedelta(hours=hour)
        for n in range(3500):
            at = start + timedelta(seconds=rnd.randrange(3600))
            life = timedelta(hours=rnd.randint(1, 12))
            store.remember("session", f"s{hour}-{n}", "v", at + life)
        for n in range(1700):
            store.first_copy(f"a{hour}-{n}", start)
        if hour % 12 == 11:
            store.commit()
        started = time.perf_counter()
        store.prune(start - timedelta(days=90), now=start - timedelta(days=1))
        total += time.perf_counter() - started
    store.close()
    return (total - in_backend) / HOURS


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for round_ in (1, 2):
            here = Path(folder) / str(round_)
            here.mkdir()
            walked, indexed = history(False, here), history(True, here)
            print(
                f"round {round_}: cache part of a prune: walk {walked * 1e3:.1f} ms, "
                f"index {indexed * 1e3:.1f} ms, {walked / indexed:.1f}x"
            )


if __name__ == "__main__":
    main()
