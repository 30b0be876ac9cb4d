"""Which cached rows a prune may have to drop, so that a prune need not walk the whole cache.

A prune (once per hour of event time) deletes the backend's expired rows, and the cache must
drop the same ones. Walking every cached row to find them costs in proportion to the cache
(``learn`` of the growing workload's fortnight averaged 370 k rows at its 67 prunes, almost
none of them due; 90 days prune 2,160 times), the index in proportion to the rows due:
``python -m bench.prune`` measures both side by side. The rows are of two kinds, and each gets
the index its lifetime calls for:

- **Facts** expire soon after they are written (sessions, bursts, chains: hours) or a
  retention after their last use (rate baselines). Each cached fact key is filed once, under
  the hour its row expires in; a prune reads only the hours its cutoff has reached, drops what
  is due and files the rest again under the hour their row now expires in (a row written again
  with a later expiry is not refiled at every write: a rate baseline is written at every
  assumption). A key leaves its file when its row leaves the cache. So the files hold one entry
  per cached fact. (A heap of ``(expires, key)`` made the same answers, at 2 µs a pop and a
  tuple per write for the garbage collector to walk; filing at every write kept an entry per
  hour a long-lived fact was written in, for its whole life.)
- **Every other table** keeps a row for the retention period after its last use (90 days). A
  lower bound of the prune column over every row that entered the cache says when none can be
  due, and the walk is skipped; a walk that does run sets the bound again from what it kept.

Every answer is the walk's: a row the index skips cannot be due. For a store of its own only:
in a group, rows also arrive from the other instances (see ``StateStore`` for the walk kept
there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

Key = tuple[Any, ...]
Row = tuple[Any, ...]

#: Seconds of expiry filed together: a prune checks each key of the hour its cutoff is in.
HOUR = 3600.0


class DueRows:
    """The expiry index of one cache: call :meth:`entered` for every row that enters it."""

    def __init__(self, columns: Mapping[str, int], fact_table: str) -> None:
        #: The prune column's index in each table's row tuple.
        self._columns = dict(columns)
        self._fact = fact_table
        self._expires = self._columns[fact_table]
        #: Fact keys by the hour (``expires // HOUR``) they are filed under, and the reverse.
        self._hours: dict[int, set[Key]] = {}
        self._hour_of: dict[Key, int] = {}
        self._floors = dict.fromkeys(self._columns, math.inf)

    def entered(self, table: str, key: Key, row: Row) -> None:
        """``row`` is now cached under ``key`` (put, or read from the backend)."""
        if table == self._fact:
            self.facts_entered((key,), row[self._expires])
            return
        moment = row[self._columns[table]]
        if moment < self._floors[table]:
            self._floors[table] = moment

    def facts_entered(self, keys: Iterable[Key], expires: float) -> None:
        """:meth:`entered` of one fact row cached under each of ``keys``."""
        hour = int(expires // HOUR)
        for key in keys:
            filed = self._hour_of.get(key)
            if filed is not None and filed <= hour:
                continue  # read by then, and filed again under the hour it expires in then
            if filed is not None:
                self._hours[filed].discard(key)
            self._file(key, hour)

    def left(self, table: str, keys: Iterable[Key]) -> None:
        """These keys' rows left the cache (evicted): a fact's key leaves its file."""
        if table != self._fact:
            return
        for key in keys:
            hour = self._hour_of.pop(key, None)
            if hour is not None:
                self._hours[hour].discard(key)

    def _file(self, key: Key, hour: int) -> None:
        self._hour_of[key] = hour
        filed = self._hours.get(hour)
        if filed is None:
            filed = self._hours[hour] = set()
        filed.add(key)

    def due(self, table: str, rows: Mapping[Key, Row | None], limit: float) -> list[Key]:
        """The keys of ``rows`` (one table's cache) whose prune column is below ``limit``."""
        if table == self._fact:
            return self._due_facts(rows, limit)
        if self._floors[table] >= limit:
            return []
        column, floor, due = self._columns[table], math.inf, []
        for key, row in rows.items():
            if row is None:
                continue
            moment = row[column]
            if moment < limit:
                due.append(key)
            elif moment < floor:
                floor = moment
        self._floors[table] = floor
        return due

    def _due_facts(self, rows: Mapping[Key, Row | None], limit: float) -> list[Key]:
        expires, due = self._expires, []
        last = int(limit // HOUR)  # the hour the cutoff falls in: partly due
        for hour in sorted(hour for hour in self._hours if hour <= last):
            for key in self._hours.pop(hour):
                row = rows.get(key)
                if row is None:  # gone from the cache, or deleted: nothing to drop
                    del self._hour_of[key]
                elif row[expires] < limit:
                    due.append(key)
                    del self._hour_of[key]
                else:  # written again since with a later expiry
                    self._file(key, int(row[expires] // HOUR))
        return due
