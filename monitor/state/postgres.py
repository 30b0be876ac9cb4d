"""The PostgreSQL backend of the state store: one state shared by every instance of a group.

It has the same batched interface as :class:`monitor.state.sqlite.SqliteBackend` (``load``,
``flush``, ``prune``, ``count``, ``commit``/``rollback``) plus what only a shared store needs:

- :meth:`PostgresBackend.settle`: the atomic, group-wide decision of who pages. Claims are
  rows keyed by what they decide (an assumption's first copy, a first-seen baseline key, an
  opened dedup window) and owned by the Kafka position of the message that made them; a
  finding holds all the claims it rests on or none. They are written in the checkpoint's
  state transaction, with the outbox, before delivery; a re-read of the same message (after a
  crash or a rebalance) owns the same claims again, so it delivers what its first reading
  could not. See docs/scaling.md.
- :meth:`PostgresBackend.changes`: what other instances wrote since the last call (rows carry
  the id of the transaction that wrote them), so the store's cache follows the group at each
  checkpoint with one query per table instead of a round trip per key.

Writes merge rather than overwrite where two instances can race: a baseline keeps the earliest
first sighting and the latest last one. The schema is versioned; :func:`migrate` applies what is
missing under an advisory lock, so instances starting together do not race. A lost connection
raises :class:`StateUnavailable` (the checkpoint treats it like a failing sink) and the next call
reconnects.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from monitor.state.errors import StateUnavailable
from monitor.state.sqlite import LAYOUT, WINDOWS, Changes, Entries, Key, OutboxRow, Row

log = logging.getLogger(__name__)

#: pg_advisory_lock keys (any fixed bigints; the names say what they guard).
MIGRATE_LOCK = 0x726D5F6D69677261  # "rm_migra"
PRUNE_LOCK = 0x726D5F7072756E65  # "rm_prune"
#: One prune per group per this many seconds of event time (the pipeline asks hourly each).
PRUNE_EVERY_S = 3600.0
CONNECT_TIMEOUT_S = 5
#: The longest a checkpoint waits for a row another instance's open transaction holds.
LOCK_TIMEOUT_MS = 5000

#: Versioned migrations: append only, never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE baseline (
        namespace text NOT NULL, key text NOT NULL, first_seen float8 NOT NULL,
        last_seen float8 NOT NULL, hits bigint NOT NULL,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(), PRIMARY KEY (namespace, key));
    CREATE INDEX baseline_last_seen ON baseline (last_seen);
    CREATE INDEX baseline_xid ON baseline (xid);
    CREATE TABLE window_event (
        namespace text NOT NULL, key text NOT NULL, at float8 NOT NULL,
        item text NOT NULL DEFAULT '', seq bigserial,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id());
    CREATE INDEX window_event_key ON window_event (namespace, key, at);
    CREATE INDEX window_event_at ON window_event (at);
    CREATE INDEX window_event_xid ON window_event (xid);
    CREATE TABLE assumption (id text PRIMARY KEY, at float8 NOT NULL);
    CREATE INDEX assumption_at ON assumption (at);
    CREATE TABLE delivered (finding_id text PRIMARY KEY, at float8 NOT NULL);
    CREATE INDEX delivered_at ON delivered (at);
    CREATE TABLE merged (
        dedup_key text PRIMARY KEY, window_start float8 NOT NULL, last_seen float8 NOT NULL,
        repeats bigint NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id());
    CREATE INDEX merged_last_seen ON merged (last_seen);
    CREATE INDEX merged_xid ON merged (xid);
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE fact (
        namespace text NOT NULL, key text NOT NULL, value text NOT NULL,
        expires float8 NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        PRIMARY KEY (namespace, key));
    CREATE INDEX fact_expires ON fact (expires);
    CREATE INDEX fact_xid ON fact (xid);
    CREATE TABLE claim (
        kind text NOT NULL, key text NOT NULL, owner text NOT NULL, at float8 NOT NULL,
        span float8 NOT NULL, PRIMARY KEY (kind, key));
    CREATE INDEX claim_at ON claim (at);
    """,
    # The transactional outbox (issue 20): findings owed to sinks, written with the state.
    """
    CREATE TABLE outbox (
        finding_id text NOT NULL, sink text NOT NULL, scope text NOT NULL,
        at float8 NOT NULL, body bytea NOT NULL, seq bigserial,
        PRIMARY KEY (finding_id, sink));
    CREATE INDEX outbox_scope ON outbox (scope, seq);
    """,
)

#: How a flushed row meets a row another instance wrote (``c`` is the stored row).
_ON_CONFLICT = {
    "baseline": "DO UPDATE SET first_seen = LEAST(c.first_seen, excluded.first_seen), "
    "last_seen = GREATEST(c.last_seen, excluded.last_seen), "
    "hits = GREATEST(c.hits, excluded.hits), xid = pg_current_xact_id()",
    "assumption": "DO NOTHING",
    "delivered": "DO NOTHING",
    "merged": "DO UPDATE SET window_start = excluded.window_start, "
    "last_seen = GREATEST(c.last_seen, excluded.last_seen), repeats = excluded.repeats, "
    "xid = pg_current_xact_id()",
    "fact": "DO UPDATE SET value = excluded.value, expires = excluded.expires, "
    "xid = pg_current_xact_id()",
}
#: Tables another instance changes under our cache (assumptions and deliveries only grow, and
#: a miss is read from the database, so they need no following).
FOLLOWED = ("baseline", "merged", "fact")

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Claim:
    """One decision that pages: ``kind``/``key`` claimed by ``owner`` at event time ``at``.

    ``span`` > 0 makes the claim expire ``span`` seconds (event time) after ``at`` (a dedup
    window); 0 holds until pruned.
    """

    kind: str
    key: str
    owner: str
    at: float
    span: float = 0.0


def redacted(url: str) -> str:
    """The URL's host, port and database only, for logs and errors (never the password)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    host, port, db = parts.get("host", "localhost"), parts.get("port", "5432"), parts.get("dbname")
    return f"postgresql://{host}:{port}/{db or ''}"


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """A lost or refused connection becomes StateUnavailable, and the next call reconnects."""

    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        backend = args[0]
        assert isinstance(backend, PostgresBackend)
        try:
            return method(*args, **kwargs)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            backend.drop_connections()
            raise StateUnavailable(f"{redacted(backend.url)}: {_first_line(exc)}") from exc

    return call


class PostgresBackend:
    """A PostgreSQL database shared by a consumer group; one open transaction at a time."""

    shared = True

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = url
        self._password = password
        self._db: psycopg.Connection[Any] | None = None
        self._claims_db: psycopg.Connection[Any] | None = None
        self._closed = False
        #: Transaction-id horizon of the last :meth:`changes` (None: not read yet).
        self._mark: int | None = None
        #: Ids of our committed transactions at or above the horizon (skipped when following).
        self._own: list[int] = []
        self._migrated = False
        self._conn()  # fail fast at startup: a wrong URL or password is a config mistake

    # -- connections ----------------------------------------------------------------------------

    def _connect(self, autocommit: bool) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, "autocommit": autocommit}
        if self._password is not None:
            options["password"] = self._password
        try:
            return psycopg.connect(self.url, **options)
        except psycopg.OperationalError as exc:
            raise StateUnavailable(f"{redacted(self.url)}: {_first_line(exc)}") from exc

    def _conn(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise psycopg.InterfaceError("the state store is closed")
        if self._db is None or self._db.closed:
            db = self._connect(autocommit=True)
            if not self._migrated:
                migrate(db)
                self._migrated = True
            db.autocommit = False
            self._db = db
        return self._db

    def _claims_conn(self) -> psycopg.Connection[Any]:
        """A second, autocommit connection: claims are committed apart from the state."""
        if self._claims_db is None or self._claims_db.closed:
            self._conn()  # migrated first
            self._claims_db = self._connect(autocommit=True)
        return self._claims_db

    def drop_connections(self) -> None:
        for db in (self._db, self._claims_db):
            if db is not None:
                with contextlib.suppress(psycopg.Error):
                    db.close()
        self._db = self._claims_db = None

    # -- reading --------------------------------------------------------------------------------

    @_guarded
    def empty(self, table: str) -> bool:
        return self._conn().execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None

    @_guarded
    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        key_cols, value_cols, _ = LAYOUT[table]
        width = len(key_cols)
        if len(keys) == 1:  # a cache miss: the commonest read, one prepared statement
            match = " AND ".join(f"{col} = %s" for col in key_cols)
            sql = f"SELECT {', '.join(value_cols)} FROM {table} WHERE {match}"
            row = self._conn().execute(sql, keys[0], prepare=True).fetchone()
            return {} if row is None else {keys[0]: tuple(row)}
        columns: list[Any] = [[key[i] for key in keys] for i in range(width)]
        unnest = ", ".join("%s::text[]" for _ in key_cols)
        sql = (
            f"SELECT {', '.join(key_cols + value_cols)} FROM {table} "
            f"WHERE ({', '.join(key_cols)}) IN (SELECT * FROM unnest({unnest}))"
        )
        rows = self._conn().execute(sql, columns).fetchall()
        return {tuple(row[:width]): tuple(row[width:]) for row in rows}

    @_guarded
    def load_window(self, key: Key) -> Entries:
        rows = self._conn().execute(
            f"SELECT at, item FROM {WINDOWS} WHERE namespace = %s AND key = %s ORDER BY at, seq",
            key,
            prepare=True,
        )
        return [(float(at), str(item)) for at, item in rows]

    @_guarded
    def load_all_windows(self) -> list[tuple[Key, Entries]]:
        found: dict[Key, Entries] = {}
        rows = self._conn().execute(
            f"SELECT namespace, key, at, item FROM {WINDOWS} ORDER BY namespace, key, at, seq"
        )
        for namespace, name, at, item in rows:
            found.setdefault((namespace, name), []).append((float(at), str(item)))
        return list(found.items())

    def _load_windows(self, keys: Sequence[Key]) -> dict[Key, Entries]:
        namespaces, names = [k[0] for k in keys], [k[1] for k in keys]
        rows = self._conn().execute(
            f"SELECT namespace, key, at, item FROM {WINDOWS} WHERE (namespace, key) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY at, seq",
            [namespaces, names],
        )
        found: dict[Key, Entries] = {}
        for namespace, name, at, item in rows:
            found.setdefault((namespace, name), []).append((float(at), str(item)))
        return found

    @_guarded
    def scan(self, table: str, prefix: Key) -> Iterator[tuple[Key, Row]]:
        key_cols, value_cols, _ = LAYOUT[table]
        where = " AND ".join(f"{col} = %s" for col in key_cols[: len(prefix)]) or "true"
        sql = f"SELECT {', '.join(key_cols + value_cols)} FROM {table} WHERE {where}"
        width = len(key_cols)
        rows = self._conn().execute(sql, list(prefix)).fetchall()
        return iter([(tuple(row[:width]), tuple(row[width:])) for row in rows])

    @_guarded
    def keys(self, table: str) -> Iterator[Key]:
        key_cols = LAYOUT[table][0]
        rows = self._conn().execute(f"SELECT {', '.join(key_cols)} FROM {table}").fetchall()
        return iter([tuple(row) for row in rows])

    @_guarded
    def count(self, table: str) -> int:
        """Live rows as the statistics collector counts them: cheap, and close enough for a
        gauge (an exact count(*) scans the table, too slow at every checkpoint)."""
        row = (
            self._conn()
            .execute("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = %s", [table])
            .fetchone()
        )
        return int(row[0]) if row else 0

    @_guarded
    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = %s", [key]).fetchone()
        return str(row[0]) if row else None

    @_guarded
    def changes(self) -> tuple[dict[str, dict[Key, Row]], dict[Key, Entries]]:
        """Rows of :data:`FOLLOWED` tables and windows written since the last call, by anyone.

        The horizon is the oldest transaction still running at the previous call, so a
        transaction that committed after it is seen (at the cost of re-reading a few rows).
        """
        db = self._conn()
        mark = self._mark
        horizon = db.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()
        assert horizon is not None
        self._mark = int(horizon[0])
        if mark is None:
            return {}, {}
        own = [str(xid) for xid in self._own]
        self._own = [xid for xid in self._own if xid >= self._mark]
        rows: dict[str, dict[Key, Row]] = {}
        for table in FOLLOWED:
            key_cols, value_cols, _ = LAYOUT[table]
            width = len(key_cols)
            sql = (
                f"SELECT {', '.join(key_cols + value_cols)} FROM {table} "
                "WHERE xid >= %s::text::xid8 AND xid <> ALL(%s::text[]::xid8[])"
            )
            found = db.execute(sql, [str(mark), own])
            rows[table] = {tuple(r[:width]): tuple(r[width:]) for r in found}
        touched = db.execute(
            f"SELECT DISTINCT namespace, key FROM {WINDOWS} "
            "WHERE xid >= %s::text::xid8 AND xid <> ALL(%s::text[]::xid8[])",
            [str(mark), own],
        ).fetchall()
        keys = [tuple(k) for k in touched]
        windows = self._load_windows(keys) if keys else {}
        return rows, {key: windows.get(key, []) for key in keys}

    # -- writing (inside the open transaction) --------------------------------------------------

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._conn().execute(
            "INSERT INTO meta VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    @_guarded
    def set_meta_earliest(self, key: str, value: str) -> str:
        """Store ``value`` if the group has none or a later one (ISO times in UTC sort as
        text); the stored value. Committed at once on the claims connection, so nobody
        waits for another instance's open transaction."""
        row = (
            self._claims_conn()
            .execute(
                "INSERT INTO meta AS m VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                'SET value = LEAST(m.value COLLATE "C", excluded.value) RETURNING value',
                [key, value],
            )
            .fetchone()
        )
        assert row is not None
        return str(row[0])

    @_guarded
    def flush(self, changes: Changes) -> None:
        """One statement per table and kind of change (arrays through ``unnest``), keys
        sorted so that two instances flushing the same keys lock them in the same order."""
        db = self._conn()
        for table, (key_cols, value_cols, _) in LAYOUT.items():
            deletes = sorted(changes.deletes(table))
            if deletes:
                db.execute(
                    f"DELETE FROM {table} WHERE ({', '.join(key_cols)}) IN "
                    f"(SELECT * FROM {_unnest(table, key_cols)})",
                    _columns(deletes, len(key_cols)),
                )
            upserts = sorted(key + row for key, row in changes.upserts(table))
            if upserts:
                columns = key_cols + value_cols
                db.execute(
                    f"INSERT INTO {table} AS c ({', '.join(columns)}) "
                    f"SELECT * FROM {_unnest(table, columns)} "
                    f"ON CONFLICT ({', '.join(key_cols)}) {_ON_CONFLICT[table]}",
                    _columns(upserts, len(columns)),
                )
        windows = sorted(changes.windows())
        if windows:
            db.execute(
                f"DELETE FROM {WINDOWS} WHERE (namespace, key) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                _columns([key for key, _ in windows], 2),
            )
            entries = [key + entry for key, list_ in windows for entry in list_]
            if entries:
                db.execute(
                    f"INSERT INTO {WINDOWS} (namespace, key, at, item) SELECT namespace, key, "
                    "at, item FROM "
                    "unnest(%s::text[], %s::text[], %s::float8[], %s::text[]) WITH ORDINALITY "
                    "AS e(namespace, key, at, item, n) ORDER BY n",
                    _columns(entries, 4),
                )

    @_guarded
    def prune(self, cutoffs: Mapping[str, float]) -> int:
        """Delete expired rows, once per group per hour: the instance holding the prune lock
        and finding the group's last prune an hour old does it; the others skip."""
        db = self._conn()
        locked = db.execute("SELECT pg_try_advisory_xact_lock(%s)", [PRUNE_LOCK]).fetchone()
        if not (locked and locked[0]):
            return 0
        cutoff = min(cutoffs.values())
        row = db.execute("SELECT value FROM meta WHERE key = 'pruned_until'").fetchone()
        if row is not None and float(row[0]) > cutoff - PRUNE_EVERY_S:
            return 0
        removed = 0
        for table, limit in cutoffs.items():
            column = "at" if table == WINDOWS else LAYOUT[table][2]
            removed += db.execute(f"DELETE FROM {table} WHERE {column} < %s", [limit]).rowcount
        removed += db.execute("DELETE FROM claim WHERE at < %s", [cutoff]).rowcount
        db.execute(
            "INSERT INTO meta VALUES ('pruned_until', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [repr(cutoff)],
        )
        return removed

    # -- the outbox (see monitor.state.outbox) --------------------------------------------------

    @_guarded
    def outbox_put(self, rows: Sequence[OutboxRow]) -> None:
        if rows:
            self._conn().execute(
                "INSERT INTO outbox (finding_id, sink, scope, at, body) SELECT * FROM "
                "unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::bytea[]) "
                "ON CONFLICT DO NOTHING",
                _columns(sorted(rows), 5),
            )

    @_guarded
    def outbox_rows(self, scopes: Sequence[str] | None, limit: int) -> list[OutboxRow]:
        where, params = "true", []
        if scopes is not None:
            where, params = "scope = ANY(%s::text[])", [list(scopes)]
        rows = (
            self._conn()
            .execute(
                "SELECT finding_id, sink, scope, at, body FROM outbox "
                f"WHERE {where} ORDER BY seq LIMIT %s",
                [*params, limit],
            )
            .fetchall()
        )
        return [(str(f), str(s), str(c), float(a), bytes(b)) for f, s, c, a, b in rows]

    @_guarded
    def outbox_done(self, sink: str, finding_ids: Sequence[str]) -> None:
        self._conn().execute(
            "DELETE FROM outbox WHERE sink = %s AND finding_id = ANY(%s::text[])",
            [sink, list(finding_ids)],
        )

    @_guarded
    def settle(self, wanted: Sequence[Sequence[Claim]]) -> list[bool]:
        """Claim group-wide, in the state's open transaction, the decisions each finding rests
        on; per finding (one sequence of claims each), whether it won them ALL. Final when the
        checkpoint commits state, claims and outbox together.

        A claim is winnable when nobody holds its key, when the holder is the same message (a
        re-read), or when the holder's dedup window (``span``) has ended at ``at``. A finding
        that cannot win every claim holds none: a finding dropped for its first-copy claim
        must not keep the first-sighting claim that another instance's finding needs (both
        findings were then dropped, and the pair never paged).

        Why in the state's transaction: an instance killed before its commit must not keep
        its claims. The keys are locked first (advisory locks, in one order for everyone), so
        the holders read next stay the holders until this transaction ends; another instance
        claiming the same key waits for this commit, at most :data:`LOCK_TIMEOUT_MS` (a
        stopped process), then fails its checkpoint as with a database away and retries.
        """
        keys = sorted({(c.kind, c.key) for claims in wanted for c in claims})
        if not keys:
            return [True] * len(wanted)
        db = self._conn()
        db.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
        _lock_keys(db, keys)
        held = _holders(db, keys)
        verdicts = [_take(claims, held) for claims in wanted]
        won = [c for claims, ok in zip(wanted, verdicts, strict=True) if ok for c in claims]
        _write_claims(db, won)
        return verdicts

    @_guarded
    def commit(self) -> None:
        db = self._conn()
        row = db.execute("SELECT pg_current_xact_id_if_assigned()::text").fetchone()
        db.commit()
        if row is not None and row[0] is not None:
            self._own.append(int(row[0]))  # our own rows need no following

    def rollback(self) -> None:
        if self._db is None or self._db.closed:
            return
        try:
            self._db.rollback()
        except psycopg.Error:
            self.drop_connections()  # the transaction is gone with the connection anyway

    def close(self) -> None:
        self.rollback()
        self.drop_connections()
        self._closed = True


def open_backend(url: str, password_file: Path | None = None) -> PostgresBackend:
    """The backend for ``url``; ConfigError (one line, no password) when it cannot be used.

    The password comes from ``password_file`` when given, else from the URL, else libpq's
    own PGPASSWORD / ~/.pgpass.
    """
    from monitor.config.settings import ConfigError
    from monitor.config.state_target import masked

    password = None
    if password_file is not None:
        try:
            password = password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"state.password_file: cannot read {password_file}: {exc}") from exc
    try:
        return PostgresBackend(url, password)
    except StateUnavailable as exc:
        raise ConfigError(f"state.url: cannot open the state database {exc}") from exc
    except psycopg.ProgrammingError as exc:  # libpq refused the URL itself (an unknown option)
        detail = _first_line(exc)
        for secret in (password, urlsplit(url).password):
            detail = detail.replace(secret, "***") if secret else detail
        raise ConfigError(f"state.url {masked(url)}: {detail}") from None


def migrate(db: psycopg.Connection[Any]) -> None:
    """Apply the migrations this database lacks, one transaction each, under an advisory lock
    (a second instance starting at the same moment waits, then finds nothing left to do)."""
    db.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        row = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        if current > len(MIGRATIONS):
            raise StateUnavailable(
                f"state schema version {current} is newer than this monitor "
                f"({len(MIGRATIONS)}); upgrade the monitor"
            )
        for version, sql in enumerate(MIGRATIONS[current:], start=current + 1):
            with db.transaction():
                db.execute(sql)  # trusted, constant SQL
                db.execute("INSERT INTO schema_version (version) VALUES (%s)", [version])
            log.info("state schema migrated", extra={"version": version})
    finally:
        db.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])


#: Column types for ``unnest`` arrays (text unless named here).
_TYPES = {
    "first_seen": "float8",
    "last_seen": "float8",
    "hits": "bigint",
    "at": "float8",
    "window_start": "float8",
    "repeats": "bigint",
    "expires": "float8",
}


def _unnest(table: str, columns: tuple[str, ...]) -> str:
    arrays = ", ".join(f"%s::{_TYPES.get(column, 'text')}[]" for column in columns)
    return f"unnest({arrays})"


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows → one list per column (the arrays ``unnest`` turns back into rows)."""
    return [[row[i] for row in rows] for i in range(width)]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _claim_lock(kind: str, key: str) -> int:
    """A signed 64-bit advisory-lock key for one claim key (a collision only serialises)."""
    digest = hashlib.blake2b(f"{kind}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _lock_keys(db: psycopg.Connection[Any], keys: Sequence[tuple[str, str]]) -> None:
    """Lock every claim key until the transaction ends, in ascending order for every instance
    (unnest yields the array in order), so two checkpoints never wait on each other in a cycle."""
    locks = sorted({_claim_lock(kind, key) for kind, key in keys})
    db.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::int8[]) AS k", [locks])


def _holders(
    db: psycopg.Connection[Any], keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Claim]:
    rows = db.execute(
        "SELECT c.kind, c.key, c.owner, c.at, c.span FROM claim c "
        "JOIN unnest(%s::text[], %s::text[]) AS k(kind, key) USING (kind, key)",
        [[kind for kind, _ in keys], [key for _, key in keys]],
    ).fetchall()
    return {(kind, key): Claim(kind, key, owner, at, span) for kind, key, owner, at, span in rows}


def _winnable(claim: Claim, holder: Claim | None) -> bool:
    if holder is None or holder.owner == claim.owner:
        return True
    return holder.span > 0 and (claim.at < holder.at or claim.at - holder.at >= holder.span)


def _take(claims: Sequence[Claim], held: dict[tuple[str, str], Claim]) -> bool:
    """Whether one finding wins all its claims against ``held``; if so they are held now."""
    if not all(_winnable(c, held.get((c.kind, c.key))) for c in claims):
        return False
    for claim in claims:
        holder = held.get((claim.kind, claim.key))
        if holder is None or holder.owner != claim.owner:
            held[(claim.kind, claim.key)] = claim
    return True


def _write_claims(db: psycopg.Connection[Any], claims: Sequence[Claim]) -> None:
    latest = {(c.kind, c.key): c for c in claims}  # one row per key: ON CONFLICT needs it
    if not latest:
        return
    rows = sorted(latest.values(), key=lambda c: (c.kind, c.key))
    db.execute(
        "INSERT INTO claim AS c (kind, key, owner, at, span) "
        "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[]) "
        "ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner, at = excluded.at, "
        "span = excluded.span",
        [
            [c.kind for c in rows],
            [c.key for c in rows],
            [c.owner for c in rows],
            [c.at for c in rows],
            [c.span for c in rows],
        ],
    )
