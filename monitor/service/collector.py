"""Fewer garbage collections while records flow (``replay``, ``learn`` and ``run``).

Why: a record allocates many short-lived objects and keeps few, while the state cache, catalog
and organisation hold hundreds of thousands of live ones that every older collection walks
again. With CPython's default thresholds the collector took 10-18 % of the stateful process's
CPU in ``learn`` of the growing workload (700 collections a day of it), about 3 % with these.
What exists when records start flowing is frozen: built once, never garbage, and never copied
by forked readers.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: The collector's thresholds while records flow (CPython's default: 700, 10, 10).
GC_THRESHOLDS = (100_000, 20, 100)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect less often, and never over what exists now, until the block ends."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
