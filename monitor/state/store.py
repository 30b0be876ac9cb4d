"""The state store: baselines, windows, seen assumptions and delivered findings.

Hot rows live in a write-back cache in memory; a checkpoint (:meth:`StateStore.commit`, which
the pipeline calls after the findings were delivered and before offsets are committed) writes
every change since the last one in ONE backend transaction. A crash or :meth:`rollback` loses
the cache and the open transaction together, so state goes back to the last committed offsets
and reprocessing rebuilds exactly what was lost; delivered-finding ids make the replay page
nobody twice. Before the cache, each assumption cost about fifteen SQLite statements.
Detectors' documents (chains, baselines, windows) stay decoded in the fact rows and are encoded
once, at the flush (:mod:`monitor.state.documents`).

Memory stays bounded: after a commit every entry is clean, and when the cache holds more than
``cache_entries`` rows the oldest are dropped (they are re-read from the backend when asked for
again). Everything is keyed by event time, and old rows expire with :meth:`prune`.

The backend is reached only through batched ``load``/``flush`` (:class:`Backend`): SQLite for a
file, plain dictionaries for ``:memory:`` (an in-memory SQLite database only cost time), or
:class:`monitor.state.postgres.PostgresBackend` for a group sharing one state. With a shared
backend the store also records *claims*: each decision that makes something page (an
assumption's first copy, a first-seen key, an opened dedup window) is claimed group-wide at the
checkpoint before delivery (:meth:`settle`), and a finding whose claim another instance won is
dropped; after each commit the cache takes in what the rest of the group wrote (one query per
table, not a round trip per key). A flush or commit that fails keeps the cache dirty, so a retry
writes everything again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from monitor.state.documents import Codec, Doc, as_text
from monitor.state.due_rows import DueRows
from monitor.state.errors import StateUnavailable
from monitor.state.keys import bounded, bounded_key
from monitor.state.memory import MemoryBackend
from monitor.state.positions import AppliedPositions
from monitor.state.sqlite import (
    TABLES,
    WINDOWS,
    Backend,
    Entries,
    Key,
    OutboxRow,
    Row,
    SqliteBackend,
    prune_column,
)
from monitor.state.stored_keys import StoredKeys

if TYPE_CHECKING:
    from monitor.findings import Finding
    from monitor.state.postgres import Claim

_ROW_TABLES = tuple(table for table in TABLES if table != WINDOWS)
_PRUNE_COLUMNS = {table: prune_column(table) for table in _ROW_TABLES}
#: Cached rows (all tables together) above which clean rows are evicted after a commit. About
#: 250 bytes each: 300,000 rows cost ~75 MB, well inside the 400 MB budget of 100k principals.
CACHE_ENTRIES = 300_000
#: Seconds between two samples of a shared store's table sizes (read at checkpoints).
SIZES_EVERY_S = 10.0
FACT = "fact"
T = TypeVar("T")


class SharedBackend(Backend, Protocol):
    """A database shared by a group (PostgreSQL): what the store needs on top of
    :class:`Backend` (see :mod:`monitor.state.postgres`)."""

    shared: bool

    def settle(self, wanted: Sequence[Sequence[Claim]]) -> list[bool]: ...
    def changes(self) -> tuple[dict[str, dict[Key, Row]], dict[Key, Entries]]: ...
    def load_all_windows(self) -> list[tuple[Key, Entries]]: ...
    def set_meta_earliest(self, key: str, value: str) -> str: ...


def _anything(table: str, key: Key) -> bool:
    return True


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


class _Cache:
    """Rows by table (``None``: known absent), window entries by key, and what is dirty."""

    def __init__(self, backend: Backend, shared: bool = False) -> None:
        self.rows: dict[str, dict[Key, Row | None]] = {table: {} for table in _ROW_TABLES}
        self.dirty: dict[str, set[Key]] = {table: set() for table in _ROW_TABLES}
        self.windows: dict[Key, Entries] = {}
        self.dirty_windows: set[Key] = set()
        #: Tables whose every stored row is in the cache, so a miss means absent without a
        #: query (a fresh store, until the first eviction): the common case of a replay.
        #: A shared database is never complete: other instances write to it.
        self.complete = {table: not shared and backend.empty(table) for table in TABLES}
        #: Flushed into the open transaction but not committed: dirty again if it fails.
        self.in_flight: dict[str, set[Key]] = {table: set() for table in _ROW_TABLES}
        self.windows_in_flight: set[Key] = set()
        #: Fact rows read back as documents since the last commit (see :meth:`to_text`).
        self.decoded: list[Key] = []
        #: Which rows a prune may have to drop (a cache of one's own: see ``expired``).
        self.due = None if shared else DueRows(_PRUNE_COLUMNS, FACT)

    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values()) + len(self.windows)

    def entered(self, table: str, key: Key, row: Row) -> None:
        """``row`` was put or read under ``key``: index when it expires."""
        if self.due is not None:
            self.due.entered(table, key, row)

    def expired(self, table: str, limit: float) -> list[Key]:
        """Keys of the table's cached rows whose prune column is below ``limit``.

        A group's cache walks every row: what the other instances wrote enters it without
        passing through the index.
        """
        rows = self.rows[table]
        if self.due is not None:
            return self.due.due(table, rows, limit)
        column = prune_column(table)
        return [key for key, row in rows.items() if row is not None and row[column] < limit]

    def clean(self) -> bool:
        """Nothing written since the last commit (so following the group overwrites nothing)."""
        pending = (*self.dirty.values(), *self.in_flight.values())
        return not any(pending) and not self.dirty_windows and not self.windows_in_flight

    # The Changes protocol of the backend's flush:
    def upserts(self, table: str) -> Iterable[tuple[Key, Row]]:
        rows = self.rows[table]
        documents = table == FACT
        for key in self.dirty[table]:
            row = rows[key]
            if row is not None:
                # A document is encoded here, once per checkpoint (monitor/state/documents.py).
                yield key, ((as_text(row[0]), row[1]) if documents else row)

    def deletes(self, table: str) -> list[Key]:
        rows = self.rows[table]
        return [key for key in self.dirty[table] if rows[key] is None]

    def written(self, table: str) -> Iterator[Key]:
        """Dirty keys that hold a row (what the next flush writes, not deletes). Lazy: a
        table whose stored-keys filter is not built yet never walks them."""
        rows = self.rows[table]
        return (key for key in self.dirty[table] if rows[key] is not None)

    def windows_changed(self) -> Iterable[tuple[Key, Entries]]:
        return [(key, self.windows[key]) for key in self.dirty_windows]

    def mark_flushed(self) -> None:
        for table, dirty in self.dirty.items():
            self.in_flight[table] |= dirty
            dirty.clear()
        self.windows_in_flight |= self.dirty_windows
        self.dirty_windows.clear()

    def to_text(self) -> None:
        """After a commit, every document goes back to its text (made at the flush), to be
        decoded again by the next batch that reads it: between checkpoints the cache holds
        plain rows, which the garbage collector never walks (held decoded for good, 100k
        sessions' chains cost more in collections than their decoding saved)."""
        rows = self.rows[FACT]
        for key in (*self.in_flight[FACT], *self.decoded):
            row = rows.get(key)
            if row is not None and type(row[0]) is Doc:
                rows[key] = (row[0].text(), row[1])
        self.decoded.clear()

    def mark_committed(self) -> None:
        for keys in self.in_flight.values():
            keys.clear()
        self.windows_in_flight.clear()

    def mark_failed(self) -> None:
        """The open transaction is gone: what it held must be written again."""
        for table, keys in self.in_flight.items():
            self.dirty[table] |= keys
            keys.clear()
        self.dirty_windows |= self.windows_in_flight
        self.windows_in_flight.clear()

    def follow(self, rows: dict[str, dict[Key, Row]], windows: dict[Key, Entries]) -> None:
        """Take in what the group wrote (all entries are clean now): every row while a table
        is held whole (a replica, so a miss still means absent), else the keys held."""
        for table, changed in rows.items():
            cached, whole = self.rows[table], self.complete[table]
            for key, row in changed.items():
                if whole or key in cached:
                    cached[key] = row
        whole = self.complete[WINDOWS]
        for key, entries in windows.items():
            if whole or key in self.windows:
                self.windows[key] = entries

    def replicate(self, backend: SharedBackend, limit: int) -> None:
        """Hold whole every followed table (and the windows) that fits in ``limit`` rows, so
        a group member answers misses without a round trip. The change feed must have been
        started before, so nothing written meanwhile is missed."""
        from monitor.state.postgres import FOLLOWED

        budget = limit
        for table in FOLLOWED:
            if backend.count(table) > budget // 2:
                continue
            for key, row in backend.scan(table, ()):
                self.rows[table][key] = row
            self.complete[table] = True
            budget -= len(self.rows[table])
        if backend.count(WINDOWS) <= budget // 2:
            for key, entries in backend.load_all_windows():
                self.windows[key] = entries
            self.complete[WINDOWS] = True

    def trim(self, table: str, keep: int) -> None:
        """Drop a table's oldest clean rows beyond ``keep`` (call when all are clean)."""
        rows = self.rows[table]
        drop = len(rows) - keep
        if drop > keep // 2:  # in steps, not at every checkpoint
            self._drop(table, list(islice(rows, drop)))
            self.complete[table] = False

    def _drop(self, table: str, keys: list[Key]) -> None:
        rows = self.rows[table]
        for key in keys:
            del rows[key]
        if self.due is not None:
            self.due.left(table, keys)

    def evict(self, keep: int) -> None:
        """Drop the oldest clean entries so about ``keep`` remain (call when all are clean)."""
        total = self.size()
        if total <= keep:
            return
        share = keep / total
        for table, rows in self.rows.items():
            drop = len(rows) - int(len(rows) * share)
            self._drop(table, list(islice(rows, drop)))
            self.complete[table] = self.complete[table] and drop == 0
        drop = len(self.windows) - int(len(self.windows) * share)
        for key in list(islice(self.windows, drop)):
            del self.windows[key]
        self.complete[WINDOWS] = self.complete[WINDOWS] and drop == 0


class _FlushView:
    """Adapts the cache to the backend's ``Changes`` protocol.

    A deleted row the database cannot hold costs no DELETE: most are facts that expired before
    any checkpoint wrote them (514 k of them in ``learn`` of the growing workload's fortnight).
    """

    def __init__(self, cache: _Cache, may_hold: Callable[[str, Key], bool]) -> None:
        self._cache = cache
        self._deletes = {
            table: [key for key in cache.deletes(table) if may_hold(table, key)]
            for table in _ROW_TABLES
        }

    def upserts(self, table: str) -> Iterable[tuple[Key, Row]]:
        return self._cache.upserts(table)

    def deletes(self, table: str) -> Iterable[Key]:
        return self._deletes[table]

    def windows(self) -> Iterable[tuple[Key, Entries]]:
        return self._cache.windows_changed()


class StateStore:
    """The state of one pipeline: a write-back cache over one backend (SQLite file or memory,
    or a PostgreSQL database shared by a group)."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        cache_entries: int = CACHE_ENTRIES,
        backend: Backend | None = None,
    ) -> None:
        self.path = str(path)
        self._backend: Backend = backend or (
            MemoryBackend() if self.path == ":memory:" else SqliteBackend(self.path)
        )
        self._closed = False
        #: The same backend when it is shared by a group (claims, change feed), else None.
        self._group: SharedBackend | None = (
            backend if getattr(backend, "shared", False) else None  # type: ignore[assignment]
        )
        self.shared = self._group is not None
        self._cache = _Cache(self._backend, self.shared)
        #: What the database may hold, so a key never stored is not queried. In a group, the
        #: tables it follows: another instance's keys reach the filter with the group's
        #: changes after each commit, when the cache takes in their rows too.
        self._stored = StoredKeys(self._backend, self._filtered_tables())
        #: Claims made since :meth:`take_claims` (a shared backend only) and who makes them:
        #: the Kafka position of the message being processed.
        self._claims: list[Claim] = []
        self._position = "local"
        #: Kafka messages whose effects the state holds (see monitor/state/positions.py).
        self._applied = AppliedPositions()
        self._sizes: list[tuple[str, int]] = []
        self._sized_at = 0.0
        self._cache_entries = cache_entries
        if self.shared:
            self._start_replica()
        #: ``observation_start`` as stored, read once: it is asked for on every assumption.
        self._observation_start: datetime | None = None
        #: The thread that checkpoints; only it may flush (see :meth:`sizes`).
        self._owner = threading.get_ident()
        #: Writers of state kept outside the tables (e.g. the stream's role changes), run at
        #: each commit so that what they keep is durable with the rest of the checkpoint.
        self._before_commit: list[Callable[[], None]] = []

    def _filtered_tables(self) -> tuple[str, ...]:
        if not self.shared:
            return _ROW_TABLES
        from monitor.state.postgres import FOLLOWED

        return FOLLOWED

    def before_commit(self, write: Callable[[], None]) -> None:
        """Run ``write`` at every :meth:`commit`, inside its transaction, before the flush."""
        self._before_commit.append(write)

    # -- transactions -------------------------------------------------------------------------

    def commit(self) -> None:
        """Make every write since the last commit durable, in one transaction (a checkpoint).

        Raises StateUnavailable (a shared database away) with the cache still dirty, so the
        next attempt writes the same changes.
        """
        self._owner = threading.get_ident()
        try:
            for write in self._before_commit:
                write()
            self._flush()
            self._applied.write(self._backend)
            self._backend.commit()
        except StateUnavailable:
            self._cache.mark_failed()
            raise
        self._cache.to_text()
        self._cache.mark_committed()
        self._applied.committed()
        with contextlib.suppress(StateUnavailable):  # a group's database away: still a superset
            self._stored.refresh()
        if self.shared:
            self._follow_group()
            # One row per assumption and finding: trimmed first, so the followed tables stay
            # whole in the cache (a group member never reads assumptions; deliveries are read
            # in one batch per checkpoint).
            for table in ("assumption", "delivered"):
                self._cache.trim(table, self._cache_entries // 8)
        self._cache.evict(self._cache_entries)

    def _follow_group(self) -> None:
        if self._group is None:
            return
        try:
            rows, windows = self._group.changes()
            self._backend.rollback()  # end the read transaction: no snapshot held between
        except StateUnavailable:
            return  # committed already; the next checkpoint catches up from the same horizon
        self._cache.follow(rows, windows)
        for table, changed in rows.items():
            self._stored.add(table, changed)
        if time.monotonic() - self._sized_at >= SIZES_EVERY_S:
            self._sized_at = time.monotonic()
            self._sizes = [(table, self._backend.count(table)) for table in TABLES]
            self._backend.rollback()

    def _start_replica(self) -> None:
        if self._group is None:
            return
        self._group.changes()  # the feed's horizon: anything committed from now on is followed
        self._cache.replicate(self._group, self._cache_entries)
        self._backend.rollback()

    def rollback(self) -> None:
        """Forget every write since the last commit: the open transaction and the cache."""
        self._backend.rollback()
        self._cache = _Cache(self._backend, self.shared)
        self._claims.clear()
        self._applied.forget()
        if self.shared:
            # Away: a cold cache, and misses are read from the database once it is back.
            with contextlib.suppress(StateUnavailable):
                self._start_replica()
        self._observation_start = None  # it may have been set in the rolled-back transaction

    def close(self) -> None:
        self._closed = True
        self._backend.close()

    def _flush(self) -> None:
        """Write dirty entries into the backend's open transaction (not yet durable)."""
        # Asks the filter before it takes more. A group deletes every key: another instance
        # may have written it since this one last took in the group's changes.
        view = _FlushView(self._cache, _anything if self.shared else self._stored.may_hold)
        for table in _ROW_TABLES:
            self._stored.add(table, self._cache.written(table))
        try:
            self._backend.flush(view)
        except StateUnavailable:
            self._cache.mark_failed()
            raise
        self._cache.mark_flushed()

    # -- group-wide claims (a shared backend) -----------------------------------------------------

    def set_position(self, topic: str, partition: int, offset: int) -> bool:
        """The Kafka message about to be processed: it owns the claims made until the next one.

        False when the state already holds its effects (a re-read after a crash or a
        rebalance): the caller skips it, so reading a message twice changes nothing.
        """
        self._position = f"{topic}:{partition}:{offset}"
        return self._applied.take(self._backend, (topic, partition), offset)

    def refresh(self) -> None:
        """Partitions were (re)assigned: read their applied positions again and, in a group,
        take in what the last owners committed, so their windows go on where they stopped."""
        self._applied.forget_clean()
        if self.shared and self._cache.clean():
            self._follow_group()

    def _claim(self, kind: str, key: str, at: datetime, span: float = 0.0) -> None:
        if self.shared:
            from monitor.state.postgres import Claim

            self._claims.append(Claim(kind, key, self._position, at.timestamp(), span))

    def prefetch_delivered(self, finding_ids: Sequence[str]) -> None:
        """Read in one query which of these findings were delivered (before marking them)."""
        rows = self._cache.rows["delivered"]
        missing = [key for key in map(bounded_key, finding_ids) if key not in rows]
        if self._cache.complete["delivered"] or not missing:
            return
        asked = [key for key in missing if self._stored.may_hold("delivered", key)]
        found = self._backend.load("delivered", asked) if asked else {}
        for key in missing:
            rows[key] = found.get(key)
        for key, row in found.items():
            self._cache.entered("delivered", key, row)

    def take_claims(self) -> tuple[Claim, ...]:
        """The claims made since the last call (the pipeline attaches them to findings)."""
        taken = tuple(self._claims)
        self._claims.clear()
        return taken

    def settle(self, findings: Sequence[Finding]) -> list[Finding]:
        """Claim group-wide what ``findings`` rest on (in the open transaction: final at the
        next :meth:`commit`); keep those that won every claim (a loser holds none).

        A no-op for a store of one's own. Raises StateUnavailable.
        """
        if self._group is None or not any(f.claims for f in findings):
            return list(findings)
        won = self._group.settle([f.claims for f in findings])
        return [f for f, ok in zip(findings, won, strict=True) if ok]

    # -- cached rows --------------------------------------------------------------------------

    def _get(self, table: str, key: Key) -> Row | None:
        rows = self._cache.rows[table]
        try:
            return rows[key]
        except KeyError:
            pass
        if self._cache.complete[table] or (self.shared and table == "assumption"):
            # A group member never reads assumptions: whether this copy is the first is
            # decided by the claims at the checkpoint, for the findings it produced.
            row = None
        elif not self._stored.may_hold(table, key):
            row = None  # never written: the database cannot hold it
        else:
            row = self._backend.load(table, [key]).get(key)
            if row is not None:
                self._cache.entered(table, key, row)
        rows[key] = row
        return row

    def _put(self, table: str, key: Key, row: Row | None) -> None:
        """Set (or, with None, delete) a row; written at the next flush."""
        self._cache.rows[table][key] = row
        self._cache.dirty[table].add(key)
        if row is not None and (due := self._cache.due) is not None:
            due.entered(table, key, row)

    # -- baselines ----------------------------------------------------------------------------

    def touch(self, namespace: str, key: str, at: datetime) -> datetime | None:
        """Record ``key`` as seen at ``at``; return when it was first seen before, or None.

        None is a decision (a first sighting) and, in a group, a claim (see :meth:`settle`).
        """
        first = self._touch(namespace, key, at, decides=True)
        return None if first is None else _dt(first)

    def _touch(self, namespace: str, key: str, at: datetime, decides: bool) -> float | None:
        """:meth:`touch`, answering in unix seconds."""
        ident = bounded_key(namespace, key)
        row = self._get("baseline", ident)
        moment = at.timestamp()
        if row is None:
            self._put("baseline", ident, (moment, moment, 1))
            if decides:
                self._claim("baseline", "\x1f".join(ident), at)
            return None
        first, last, hits = row
        self._put("baseline", ident, (min(first, moment), max(last, moment), hits + 1))
        return first

    def see(self, namespace: str, key: str, at: datetime) -> None:
        """:meth:`touch` for callers that do not need the answer (so it claims nothing)."""
        self._touch(namespace, key, at, decides=False)

    def last_seen(self, namespace: str, key: str) -> datetime | None:
        row = self._get("baseline", bounded_key(namespace, key))
        return _dt(row[1]) if row else None

    def baseline_keys(self, namespace: str) -> Iterator[tuple[str, datetime, datetime, int]]:
        """Every key of a namespace with first seen, last seen and hit count."""
        self._flush()
        for (_, key), (first, last, hits) in self._backend.scan("baseline", bounded_key(namespace)):
            yield key, _dt(first), _dt(last), hits

    # -- sliding windows ----------------------------------------------------------------------

    def _entries(self, ident: Key) -> Entries:
        entries = self._cache.windows.get(ident)
        if entries is None:
            complete = self._cache.complete[WINDOWS]
            entries = [] if complete else self._backend.load_window(ident)
            self._cache.windows[ident] = entries
        return entries

    def _set_entries(self, ident: Key, entries: Entries) -> None:
        self._cache.windows[ident] = entries
        self._cache.dirty_windows.add(ident)

    def add_to_window(self, namespace: str, key: str, at: datetime, item: str = "") -> None:
        ident = bounded_key(namespace, key)
        entries = self._entries(ident)
        # Oldest first; an entry equal in time goes after the ones already there.
        insort(entries, (at.timestamp(), item), key=lambda entry: entry[0])
        self._cache.dirty_windows.add(ident)

    def window(self, namespace: str, key: str, since: datetime) -> list[tuple[datetime, str]]:
        """Entries of one window key at or after ``since``, oldest first."""
        cutoff = since.timestamp()
        entries = self._entries(bounded_key(namespace, key))
        return [(_dt(at), item) for at, item in entries if at >= cutoff]

    def clear_window(self, namespace: str, key: str) -> None:
        self._set_entries(bounded_key(namespace, key), [])

    def trim_window(self, namespace: str, key: str, before: datetime) -> int:
        """Drop one window key's entries older than ``before``; rows removed.

        A sliding window only ever looks back its own length, so a detector trims as it adds
        and a busy key holds one window of rows, not everything since the last prune.
        """
        ident = bounded_key(namespace, key)
        entries = self._entries(ident)
        cutoff = before.timestamp()
        kept = [entry for entry in entries if entry[0] >= cutoff]
        if len(kept) != len(entries):
            self._set_entries(ident, kept)
        return len(entries) - len(kept)

    # -- expiring facts -----------------------------------------------------------------------

    def remember(self, namespace: str, key: str, value: str, expires: datetime) -> None:
        """Hold ``value`` under ``key`` until ``expires`` (event time), replacing any earlier one.

        For facts with a natural lifetime, such as what is known about a temporary session until
        its credentials expire, or an open burst until its quiet period has passed.
        """
        self._put("fact", bounded_key(namespace, key), (value, expires.timestamp()))

    def recall(self, namespace: str, key: str, at: datetime) -> str | None:
        """The value remembered under ``key`` if it has not expired at ``at``, else None."""
        row = self._get("fact", bounded_key(namespace, key))
        return as_text(row[0]) if row is not None and row[1] > at.timestamp() else None

    def remember_doc(
        self, namespace: str, keys: Iterable[str], value: T, expires: datetime, codec: Codec[T]
    ) -> None:
        """:meth:`remember` of a document under each of ``keys``, kept decoded: it is encoded
        once, at the next flush, however often it changes before (see documents.py)."""
        row = (Doc(value, codec), expires.timestamp())
        rows, dirty = self._cache.rows[FACT], self._cache.dirty[FACT]
        idents = [bounded_key(namespace, key) for key in keys]
        for ident in idents:  # _put, inline: three keys per issued session
            rows[ident] = row
            dirty.add(ident)
        if self._cache.due is not None:
            self._cache.due.facts_entered(idents, row[1])

    def recall_doc(self, namespace: str, key: str, at: datetime, codec: Codec[T]) -> T | None:
        """:meth:`recall` of a document, decoded at most once while it stays in the cache.

        The value is shared: change it by remembering a new one, never in place.
        """
        ident = bounded_key(namespace, key)
        row = self._get(FACT, ident)
        if row is None or row[1] <= at.timestamp():
            return None
        value = row[0]
        if type(value) is Doc and value.codec is codec:
            held: T = value.value
            return held
        text = as_text(value)
        decoded = codec.decode(text)
        # The same row, decoded (its text kept) until the commit: a dirty row stays dirty, a
        # clean one clean.
        self._cache.rows[FACT][ident] = (Doc(decoded, codec, text), row[1])
        self._cache.decoded.append(ident)
        return decoded

    def forget(self, namespace: str, key: str) -> None:
        self._put("fact", bounded_key(namespace, key), None)

    # -- assumptions and findings -------------------------------------------------------------

    def first_copy(self, assumption_id: str, at: datetime) -> bool:
        """True the first time an assumption (either copy of a cross-account call) is seen."""
        ident = bounded(assumption_id)
        first = self._insert_once("assumption", ident, at)
        if first:
            self._claim("assumption", ident, at)
        return first

    def mark_delivered(self, finding_id: str, at: datetime) -> bool:
        """Record a finding as delivered; False when it already was (a restart's repeat)."""
        return self._insert_once("delivered", bounded(finding_id), at)

    def unmark_delivered(self, finding_id: str) -> None:
        self._put("delivered", (bounded(finding_id),), None)

    def _insert_once(self, table: str, ident: str, at: datetime) -> bool:
        key = (ident,)
        if self._get(table, key) is not None:
            return False
        self._put(table, key, (at.timestamp(),))
        return True

    # -- the transactional outbox (findings owed to sinks; see monitor.sinks.delivery) ---------

    def outbox_put(self, rows: Sequence[OutboxRow]) -> None:
        """Write rows into the open transaction: durable with the next :meth:`commit`, together
        with the state and the delivered marks of the same findings."""
        if rows:
            self._backend.outbox_put(rows)

    def outbox_rows(self, scopes: Sequence[str] | None, limit: int) -> list[OutboxRow]:
        """Rows still owed, oldest first; ``scopes`` None: every scope."""
        return self._backend.outbox_rows(scopes, limit)

    def outbox_done(self, sink: str, finding_ids: Sequence[str], commit: bool = True) -> None:
        """``sink`` took these findings: drop their rows, committed at once when ``commit``
        (call between checkpoints only: it also commits whatever else was flushed)."""
        self._backend.outbox_done(sink, finding_ids)
        if commit:
            self._backend.commit()

    def merge_repeat(self, dedup_key: str, at: datetime, window: timedelta) -> int:
        """0 when a finding with ``dedup_key`` opens a new window, else the repeat count so far."""
        key = bounded_key(dedup_key)
        row = self._get("merged", key)
        moment = at.timestamp()
        if row is None or not (0 <= moment - row[0] < window.total_seconds()):
            self._put("merged", key, (moment, moment, 0))
            self._claim("merged", key[0], at, window.total_seconds())
            return 0
        start, last, repeats = row
        self._put("merged", key, (start, max(last, moment), repeats + 1))
        return int(repeats) + 1

    def merged_keys(self) -> Iterator[tuple[str, datetime, datetime, int]]:
        """Every dedup key held, with its latest merge window: start, last repeat, repeats.

        Read-only, for ``role-monitor tune``. Only the latest window of a key is kept, so the
        repeats are those of that window, not of the key's whole history.
        """
        self._flush()
        for (key,), (start, last, repeats) in self._backend.scan("merged", ()):
            yield key, _dt(start), _dt(last), repeats

    # -- metadata (rare: straight to the backend) ---------------------------------------------

    def get_meta(self, key: str) -> str | None:
        return self._backend.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self._backend.set_meta(key, value)
        if key == "observation_start":
            self._observation_start = None

    def observation_start(self, at: datetime) -> datetime:
        """Event time of the first event this store ever saw (the learning period's start).

        In a group it is the earliest event any instance saw: instances start on different
        partitions, and the first event one of them reads may be later than another's.
        """
        known = self._observation_start
        if known is not None and (not self.shared or at >= known):
            return known
        stored: str | None
        if self._group is not None:
            stored = self._group.set_meta_earliest("observation_start", at.isoformat())
        else:
            stored = self.get_meta("observation_start")
            if stored is None:
                self.set_meta("observation_start", at.isoformat())
                return at
        self._observation_start = datetime.fromisoformat(stored)
        return self._observation_start

    # -- housekeeping -------------------------------------------------------------------------

    def prune(self, before: datetime, now: datetime | None = None) -> int:
        """Forget everything last touched before ``before`` (event time); rows removed (stored
        or not yet flushed).

        Expiring facts (see :meth:`remember`) are useless once expired, so they go as soon as
        they have expired at ``now`` (the pipeline's clock) rather than a retention later.
        """
        cutoff = before.timestamp()
        cutoffs = dict.fromkeys(TABLES, cutoff)
        cutoffs["fact"] = max(before, now).timestamp() if now is not None else cutoff
        if self.shared:
            # The group's prune may be another instance's turn (skipped here): what this one
            # wrote must reach the database as it stands, not as deletions.
            self._flush()
        # The backend deletes its expired rows; the cache drops the same ones. A dirty row
        # expired already is deleted at the next flush instead of written: before, every
        # prune flushed first, and most short-lived facts were written only to be deleted.
        removed = self._backend.prune(cutoffs)
        for table, rows in self._cache.rows.items():
            dirty = self._cache.dirty[table]
            for key in self._cache.expired(table, cutoffs[table]):
                rows[key] = None
                removed += key in dirty  # not stored yet (or stored older: counted twice)
        windows, dirty_windows = self._cache.windows, self._cache.dirty_windows
        for ident, entries in windows.items():
            if entries and entries[0][0] < cutoff:
                windows[ident] = [entry for entry in entries if entry[0] >= cutoff]
                if ident in dirty_windows:
                    removed += len(entries) - len(windows[ident])
        return removed

    def sizes(self) -> list[tuple[str, int]]:
        """Rows per table, for the state-size metric (nothing once the store is closed).

        On the checkpointing thread the cache is flushed first, so the counts are exact; from
        another thread (a scrape) they are the rows flushed so far, at most one checkpoint old.
        """
        if self.shared:  # sampled at checkpoints: a scrape must not wait for a database away
            return list(self._sizes)
        if self._closed:
            return []
        if threading.get_ident() == self._owner:
            self._flush()
        return [(table, self._backend.count(table)) for table in TABLES]
