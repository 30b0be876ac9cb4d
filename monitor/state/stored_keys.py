"""Which keys a store's own database may hold, so that a key it never held costs no query.

A store keeps hot rows in its cache and reads the database on a miss. While a table is held
whole (a fresh store) a miss means absent without a query; once the cache has evicted (past
``CACHE_ENTRIES`` rows: a long ``learn``, a restart on a filled state, 100 k principals) every
miss was a query, and most misses are keys never stored at all: every new assumption id,
session and pair. ``learn`` of the growing workload's fortnight made 161,055 of them on the
assumption table alone.

A Bloom filter per table over every key written answers those without the query. A false
positive costs the query it always cost; there is no false negative, so every answer is the
one the database would have given. Keys go in at each flush (a dirty key is in the cache until
then); a rollback leaves keys that were never committed, which only makes a superset. A filter
that took in more keys than it was sized for is rebuilt from the database after a commit.

A table's filter is built (one scan of its keys) once it has been asked about
:data:`BUILD_AFTER` times: a command that reads a few keys (``role-monitor roles``) or a store
whose tables are all still in its cache never pays for scanning millions of assumption ids.
Until then a miss is the query it always was; keys flushed meanwhile are in the database when
the scan comes.

In a group, only for the tables the group's change feed carries (``monitor.state.postgres``):
the store adds what the other instances committed when it takes in their changes after each
commit, so a key written elsewhere is found from then on, as the cache's rows are. A table the
filter does not cover is always asked about.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from rbloom import Bloom

#: Share of never-stored keys that are still queried: the filter's false-positive rate.
FALSE_POSITIVES = 0.01
#: Keys a filter is sized for at least (1.2 MB of bits at 1 %).
MIN_CAPACITY = 1_000_000
#: Questions about a table the database answers before its filter is built.
BUILD_AFTER = 64

Key = tuple[Any, ...]


class KeyedBackend(Protocol):
    def keys(self, table: str) -> Iterator[Key]: ...
    def count(self, table: str) -> int: ...


class StoredKeys:
    """One Bloom filter per row table over the keys the backend holds (or may hold)."""

    def __init__(self, backend: KeyedBackend, tables: Iterable[str]) -> None:
        self._backend = backend
        #: Filters built so far (see :data:`BUILD_AFTER`).
        self._filters: dict[str, Bloom] = {}
        self._capacity: dict[str, int] = {}
        self._added: dict[str, int] = {}
        self._asked = dict.fromkeys(tables, 0)

    def may_hold(self, table: str, key: Key) -> bool:
        """False only when ``key`` was never written to ``table``."""
        bloom = self._filters.get(table)
        if bloom is None:
            if table not in self._asked:
                return True  # a table the filter does not cover
            self._asked[table] += 1
            if self._asked[table] <= BUILD_AFTER:
                return True  # asked of the database, as without a filter
            bloom = self._rebuild(table)
        return key in bloom

    def add(self, table: str, keys: Iterable[Key]) -> None:
        """Note keys about to be written (call before the backend's flush). Only keys new to
        the filter count towards its size: a hot key is written at every checkpoint. A table
        without a filter yet skips this: its scan will find them in the database."""
        bloom = self._filters.get(table)
        if bloom is None:
            return
        new = [key for key in keys if key not in bloom]
        if new:
            bloom.update(new)
            self._added[table] += len(new)

    def refresh(self) -> None:
        """Rebuild the filters that outgrew their size (call after a commit: every key that
        matters is in the database then)."""
        for table, added in self._added.items():
            if added > self._capacity[table]:
                self._rebuild(table)

    def _rebuild(self, table: str) -> Bloom:
        held = self._backend.count(table)
        capacity = max(MIN_CAPACITY, 2 * held)
        bloom = Bloom(capacity, FALSE_POSITIVES)
        bloom.update(self._backend.keys(table))
        self._filters[table], self._capacity[table], self._added[table] = bloom, capacity, held
        return bloom
