"""The SQLite backend of the state store: batched loads and one-transaction flushes.

:class:`monitor.state.store.StateStore` keeps hot rows in memory and talks to a backend only through
this small interface (``load`` a batch of keys, ``flush`` a batch of changes, ``prune``,
``count``, ``commit``/``rollback``), so another database (PostgreSQL for a shared group) can
take its place without touching the detectors or the cache.

Every table is a map from a key tuple to a row tuple; window entries are the one list-valued
table (all entries of one ``(namespace, key)`` are loaded and rewritten together).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

Key = tuple[Any, ...]
Row = tuple[Any, ...]
#: A window's entries: ``(at, item)`` oldest first, ties in insertion order.
Entries = list[tuple[float, str]]
#: One outbox row: a finding still owed to one sink: finding id, sink, scope (the Kafka
#: partition that produced it, or ``local``), event time, the finding's JSON.
OutboxRow = tuple[str, str, str, float, bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS baseline (
    namespace TEXT NOT NULL, key TEXT NOT NULL,
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, hits INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS window_event (
    namespace TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL, item TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS window_event_key ON window_event (namespace, key, at);
CREATE INDEX IF NOT EXISTS window_event_at ON window_event (at);
CREATE TABLE IF NOT EXISTS assumption (
    id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivered (
    finding_id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS merged (
    dedup_key TEXT PRIMARY KEY, window_start REAL NOT NULL, last_seen REAL NOT NULL,
    repeats INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fact (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (namespace, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fact_expires ON fact (expires);
CREATE TABLE IF NOT EXISTS outbox (
    finding_id TEXT NOT NULL, sink TEXT NOT NULL, scope TEXT NOT NULL, at REAL NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (finding_id, sink));
CREATE INDEX IF NOT EXISTS outbox_scope ON outbox (scope);
"""
TABLES = ("baseline", "window_event", "assumption", "delivered", "merged", "fact")

#: Key columns, value columns, and the column ``prune`` compares with its cutoff.
_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "baseline": (("namespace", "key"), ("first_seen", "last_seen", "hits"), "last_seen"),
    "assumption": (("id",), ("at",), "at"),
    "delivered": (("finding_id",), ("at",), "at"),
    "merged": (("dedup_key",), ("window_start", "last_seen", "repeats"), "last_seen"),
    "fact": (("namespace", "key"), ("value", "expires"), "expires"),
}
WINDOWS = "window_event"
#: The layout, for other backends (PostgreSQL) that store the same tables.
LAYOUT = _LAYOUT

#: Page cache of a file store, in KiB (SQLite's default is 2 MiB). Bounded, so RSS stays
#: bounded; large enough that a flush's writes spread over many principals stay in memory.
CACHE_KIB = 64 * 1024
#: WAL pages before SQLite copies them back into the database (default 1,000 = 4 MiB); a
#: checkpoint dirties about that much, so the default copied and fsync'd at almost every commit.
WAL_AUTOCHECKPOINT_PAGES = 16_384
#: Keys per SELECT of a batched load (SQLite's default limit is 32,766 variables).
_BATCH = 400


class Changes(Protocol):
    """What a flush writes: per table, rows to upsert and keys to delete."""

    def upserts(self, table: str) -> Iterable[tuple[Key, Row]]: ...
    def deletes(self, table: str) -> Iterable[Key]: ...
    def windows(self) -> Iterable[tuple[Key, Entries]]: ...


class Backend(Protocol):
    """What the state store needs of a database: batched reads, batched writes into one open
    transaction, expiry, counts, commit and rollback."""

    def empty(self, table: str) -> bool: ...
    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]: ...
    def load_window(self, key: Key) -> Entries: ...
    def scan(self, table: str, prefix: Key) -> Iterator[tuple[Key, Row]]: ...
    def keys(self, table: str) -> Iterator[Key]: ...
    def count(self, table: str) -> int: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def flush(self, changes: Changes) -> None: ...
    def prune(self, cutoffs: Mapping[str, float]) -> int: ...
    def outbox_put(self, rows: Sequence[OutboxRow]) -> None: ...
    def outbox_rows(self, scopes: Sequence[str] | None, limit: int) -> list[OutboxRow]: ...
    def outbox_done(self, sink: str, finding_ids: Sequence[str]) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class SqliteBackend:
    """One SQLite database, a file or ``:memory:``; one open transaction at a time."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    # -- reading ------------------------------------------------------------------------------

    def empty(self, table: str) -> bool:
        return self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None

    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        """The stored rows of ``keys`` (absent keys are missing from the answer)."""
        key_cols, value_cols, _ = _LAYOUT[table]
        found: dict[Key, Row] = {}
        width = len(key_cols)
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            if width == 1:
                where = f"{key_cols[0]} IN ({','.join('?' * len(chunk))})"
                params: list[Any] = [key[0] for key in chunk]
            else:
                cols = ", ".join(key_cols)
                where = f"({cols}) IN (VALUES {','.join(['(?, ?)'] * len(chunk))})"
                params = [part for key in chunk for part in key]
            sql = f"SELECT {', '.join(key_cols + value_cols)} FROM {table} WHERE {where}"
            for row in self._db.execute(sql, params):
                found[tuple(row[:width])] = tuple(row[width:])
        return found

    def load_window(self, key: Key) -> Entries:
        rows = self._db.execute(
            f"SELECT at, item FROM {WINDOWS} WHERE namespace=? AND key=? ORDER BY at, rowid", key
        ).fetchall()
        return [(float(at), str(item)) for at, item in rows]

    def scan(self, table: str, prefix: Key) -> Iterator[tuple[Key, Row]]:
        """Every row whose key starts with ``prefix`` (one namespace of a table)."""
        key_cols, value_cols, _ = _LAYOUT[table]
        where = " AND ".join(f"{col}=?" for col in key_cols[: len(prefix)]) or "1"
        sql = f"SELECT {', '.join(key_cols + value_cols)} FROM {table} WHERE {where}"
        width = len(key_cols)
        for row in self._db.execute(sql, prefix):
            yield tuple(row[:width]), tuple(row[width:])

    def keys(self, table: str) -> Iterator[Key]:
        """Every key of a row table."""
        key_cols = _LAYOUT[table][0]
        yield from self._db.execute(f"SELECT {', '.join(key_cols)} FROM {table}")

    def count(self, table: str) -> int:
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    # -- writing (inside the open transaction) ------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def flush(self, changes: Changes) -> None:
        """Write a batch of changes into the open transaction (durable at :meth:`commit`)."""
        for table, (key_cols, value_cols, _) in _LAYOUT.items():
            match = " AND ".join(f"{col}=?" for col in key_cols)
            self._db.executemany(f"DELETE FROM {table} WHERE {match}", changes.deletes(table))
            marks = ", ".join("?" * (len(key_cols) + len(value_cols)))
            self._db.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES ({marks})",
                (key + row for key, row in changes.upserts(table)),
            )
        windows = list(changes.windows())
        self._db.executemany(
            f"DELETE FROM {WINDOWS} WHERE namespace=? AND key=?", (key for key, _ in windows)
        )
        self._db.executemany(
            f"INSERT INTO {WINDOWS} VALUES (?, ?, ?, ?)",
            (key + entry for key, entries in windows for entry in entries),
        )

    # -- the outbox (see monitor.state.outbox) --------------------------------------------------

    def outbox_put(self, rows: Sequence[OutboxRow]) -> None:
        """Add rows in the open transaction; a row already there stays as it is."""
        self._db.executemany("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, ?)", rows)

    def outbox_rows(self, scopes: Sequence[str] | None, limit: int) -> list[OutboxRow]:
        """Rows still owed, oldest first (``scopes`` None: every scope)."""
        where, params = "1", []
        if scopes is not None:
            where, params = f"scope IN ({','.join('?' * len(scopes))})", list(scopes)
        sql = f"SELECT * FROM outbox WHERE {where} ORDER BY rowid LIMIT ?"
        return [
            (str(f), str(s), str(c), float(a), bytes(b))
            for f, s, c, a, b in self._db.execute(sql, [*params, limit])
        ]

    def outbox_done(self, sink: str, finding_ids: Sequence[str]) -> None:
        self._db.executemany(
            "DELETE FROM outbox WHERE finding_id=? AND sink=?", ((f, sink) for f in finding_ids)
        )

    def prune(self, cutoffs: Mapping[str, float]) -> int:
        """Delete rows whose prune column is below the table's cutoff; rows removed."""
        removed = 0
        for table, cutoff in cutoffs.items():
            column = "at" if table == WINDOWS else _LAYOUT[table][2]
            sql = f"DELETE FROM {table} WHERE {column} < ?"
            removed += self._db.execute(sql, (cutoff,)).rowcount
        return removed

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def close(self) -> None:
        self._db.rollback()
        self._db.close()


def prune_column(table: str) -> int:
    """Index, in a table's row tuple, of the column ``prune`` compares."""
    _, value_cols, column = _LAYOUT[table]
    return value_cols.index(column)
