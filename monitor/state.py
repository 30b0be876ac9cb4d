"""The state store: baselines, windows, seen assumptions and delivered findings, in SQLite.

Writes accumulate in one open transaction and become durable only at :meth:`StateStore.commit`,
which the pipeline calls at each checkpoint after the findings were delivered and before offsets
are committed. A crash therefore rolls state back to the last committed offsets, and reprocessing
rebuilds exactly what was lost; delivered-finding ids make the replay page nobody twice.
Everything is keyed by event time, and old rows expire with :meth:`prune`, so the store stays
bounded however many distinct principals pass through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
"""
TABLES = ("baseline", "window_event", "assumption", "delivered", "merged", "fact")

#: Page cache of a file store, in KiB (SQLite's default is 2 MiB). Keys are spread over
#: hundreds of thousands of principals, so every checkpoint touches pages all over the file;
#: with the default cache most lookups went back to the OS. Bounded, so RSS stays bounded.
CACHE_KIB = 64 * 1024
#: WAL pages before SQLite copies them back into the database (default 1,000 = 4 MiB). A
#: checkpoint every 100 ms dirties about that much, so the default copied and fsync'd at
#: almost every commit; durability is the same (WAL, synchronous=NORMAL), only batched.
WAL_AUTOCHECKPOINT_PAGES = 16_384


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


class StateStore:
    """One SQLite database (a file, or ``:memory:``) used by one pipeline."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        #: ``observation_start`` as stored, read once: it is asked for on every assumption.
        self._observation_start: datetime | None = None

    # -- transactions -------------------------------------------------------------------------

    def commit(self) -> None:
        """Make every write since the last commit durable (one checkpoint)."""
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()
        self._observation_start = None  # it may have been set in the rolled-back transaction

    def close(self) -> None:
        self._db.rollback()
        self._db.close()

    # -- baselines ----------------------------------------------------------------------------

    def touch(self, namespace: str, key: str, at: datetime) -> datetime | None:
        """Record ``key`` as seen at ``at``; return when it was first seen before, or None."""
        row = self._db.execute(
            "SELECT first_seen FROM baseline WHERE namespace=? AND key=?", (namespace, key)
        ).fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO baseline VALUES (?, ?, ?, ?, 1)", (namespace, key, _ts(at), _ts(at))
            )
            return None
        self._db.execute(
            "UPDATE baseline SET last_seen=max(last_seen, ?), hits=hits+1, "
            "first_seen=min(first_seen, ?) WHERE namespace=? AND key=?",
            (_ts(at), _ts(at), namespace, key),
        )
        return _dt(row[0])

    def see(self, namespace: str, key: str, at: datetime) -> None:
        """:meth:`touch` for callers that do not need the answer: one statement, not two."""
        self._db.execute(
            "INSERT INTO baseline VALUES (?, ?, ?, ?, 1) ON CONFLICT (namespace, key) DO UPDATE "
            "SET last_seen=max(last_seen, excluded.last_seen), hits=hits+1, "
            "first_seen=min(first_seen, excluded.first_seen)",
            (namespace, key, _ts(at), _ts(at)),
        )

    def last_seen(self, namespace: str, key: str) -> datetime | None:
        row = self._db.execute(
            "SELECT last_seen FROM baseline WHERE namespace=? AND key=?", (namespace, key)
        ).fetchone()
        return _dt(row[0]) if row else None

    def baseline_keys(self, namespace: str) -> Iterator[tuple[str, datetime, datetime, int]]:
        """Every key of a namespace with first seen, last seen and hit count."""
        for key, first, last, hits in self._db.execute(
            "SELECT key, first_seen, last_seen, hits FROM baseline WHERE namespace=?",
            (namespace,),
        ):
            yield key, _dt(first), _dt(last), hits

    # -- sliding windows ----------------------------------------------------------------------

    def add_to_window(self, namespace: str, key: str, at: datetime, item: str = "") -> None:
        self._db.execute(
            "INSERT INTO window_event VALUES (?, ?, ?, ?)", (namespace, key, _ts(at), item)
        )

    def window(self, namespace: str, key: str, since: datetime) -> list[tuple[datetime, str]]:
        """Entries of one window key at or after ``since``, oldest first."""
        rows = self._db.execute(
            "SELECT at, item FROM window_event WHERE namespace=? AND key=? AND at>=? ORDER BY at",
            (namespace, key, _ts(since)),
        ).fetchall()
        return [(_dt(at), item) for at, item in rows]

    def clear_window(self, namespace: str, key: str) -> None:
        self._db.execute("DELETE FROM window_event WHERE namespace=? AND key=?", (namespace, key))

    def trim_window(self, namespace: str, key: str, before: datetime) -> int:
        """Drop one window key's entries older than ``before``; rows removed.

        A sliding window only ever looks back its own length, so a detector trims as it adds
        and a busy key holds one window of rows, not everything since the last prune.
        """
        cursor = self._db.execute(
            "DELETE FROM window_event WHERE namespace=? AND key=? AND at<?",
            (namespace, key, _ts(before)),
        )
        return cursor.rowcount

    # -- expiring facts -----------------------------------------------------------------------

    def remember(self, namespace: str, key: str, value: str, expires: datetime) -> None:
        """Hold ``value`` under ``key`` until ``expires`` (event time), replacing any earlier one.

        For facts with a natural lifetime, such as what is known about a temporary session until
        its credentials expire, or an open burst until its quiet period has passed.
        """
        self._db.execute(
            "INSERT OR REPLACE INTO fact VALUES (?, ?, ?, ?)",
            (namespace, key, value, _ts(expires)),
        )

    def recall(self, namespace: str, key: str, at: datetime) -> str | None:
        """The value remembered under ``key`` if it has not expired at ``at``, else None."""
        row = self._db.execute(
            "SELECT value FROM fact WHERE namespace=? AND key=? AND expires>?",
            (namespace, key, _ts(at)),
        ).fetchone()
        return str(row[0]) if row else None

    def forget(self, namespace: str, key: str) -> None:
        self._db.execute("DELETE FROM fact WHERE namespace=? AND key=?", (namespace, key))

    # -- assumptions and findings -------------------------------------------------------------

    def first_copy(self, assumption_id: str, at: datetime) -> bool:
        """True the first time an assumption (either copy of a cross-account call) is seen."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO assumption VALUES (?, ?)", (assumption_id, _ts(at))
        )
        return cursor.rowcount == 1

    def mark_delivered(self, finding_id: str, at: datetime) -> bool:
        """Record a finding as delivered; False when it already was (a restart's repeat)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO delivered VALUES (?, ?)", (finding_id, _ts(at))
        )
        return cursor.rowcount == 1

    def unmark_delivered(self, finding_id: str) -> None:
        self._db.execute("DELETE FROM delivered WHERE finding_id=?", (finding_id,))

    def merge_repeat(self, dedup_key: str, at: datetime, window: timedelta) -> int:
        """0 when a finding with ``dedup_key`` opens a new window, else the repeat count so far."""
        row = self._db.execute(
            "SELECT window_start, repeats FROM merged WHERE dedup_key=?", (dedup_key,)
        ).fetchone()
        if row is None or not (0 <= _ts(at) - row[0] < window.total_seconds()):
            self._db.execute(
                "INSERT OR REPLACE INTO merged VALUES (?, ?, ?, 0)", (dedup_key, _ts(at), _ts(at))
            )
            return 0
        self._db.execute(
            "UPDATE merged SET repeats=repeats+1, last_seen=max(last_seen, ?) WHERE dedup_key=?",
            (_ts(at), dedup_key),
        )
        return int(row[1]) + 1

    def merged_keys(self) -> Iterator[tuple[str, datetime, datetime, int]]:
        """Every dedup key held, with its latest merge window: start, last repeat, repeats.

        Read-only, for ``role-monitor tune``. Only the latest window of a key is kept, so the
        repeats are those of that window, not of the key's whole history.
        """
        for key, start, last, repeats in self._db.execute(
            "SELECT dedup_key, window_start, last_seen, repeats FROM merged"
        ):
            yield key, _dt(start), _dt(last), repeats

    # -- metadata -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        if key == "observation_start":
            self._observation_start = None

    def observation_start(self, at: datetime) -> datetime:
        """Event time of the first event this store ever saw (the learning period's start)."""
        if self._observation_start is not None:
            return self._observation_start
        stored = self.get_meta("observation_start")
        if stored is None:
            self.set_meta("observation_start", at.isoformat())
            return at
        self._observation_start = datetime.fromisoformat(stored)
        return self._observation_start

    # -- housekeeping -------------------------------------------------------------------------

    def prune(self, before: datetime, now: datetime | None = None) -> int:
        """Forget everything last touched before ``before`` (event time); rows removed.

        Expiring facts (see :meth:`remember`) are useless once expired, so they go as soon as
        they have expired at ``now`` (the pipeline's clock) rather than a retention later.
        """
        cutoff = _ts(before)
        removed = 0
        for sql in (
            "DELETE FROM baseline WHERE last_seen < ?",
            "DELETE FROM window_event WHERE at < ?",
            "DELETE FROM assumption WHERE at < ?",
            "DELETE FROM delivered WHERE at < ?",
            "DELETE FROM merged WHERE last_seen < ?",
        ):
            removed += self._db.execute(sql, (cutoff,)).rowcount
        expired = _ts(max(before, now)) if now is not None else cutoff
        removed += self._db.execute("DELETE FROM fact WHERE expires < ?", (expired,)).rowcount
        return removed

    def sizes(self) -> list[tuple[str, int]]:
        """Rows per table, for the state-size metric (nothing once the store is closed)."""
        try:
            return self._sizes()
        except sqlite3.ProgrammingError:
            return []

    def _sizes(self) -> list[tuple[str, int]]:
        return [
            (table, int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]))
            for table in TABLES
        ]
