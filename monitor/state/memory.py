"""The in-memory backend of the state store (``:memory:``), with the SQLite backend's interface.

An in-memory SQLite database is gone when the process ends, so writing every checkpoint's rows
into it bought nothing but the cost: at the end of a replay of 30k assumptions the one flush
took over a second, ~40 µs per assumption. Here a flush moves rows into dictionaries. The
transaction semantics stay: flushed rows are pending until :meth:`commit`, and
:meth:`rollback` drops them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from monitor.state.sqlite import (
    TABLES,
    WINDOWS,
    Changes,
    Entries,
    Key,
    OutboxRow,
    Row,
    prune_column,
)

#: A pending deletion (``None`` is a value of its own in the window map).
_GONE = None


class MemoryBackend:
    def __init__(self) -> None:
        self._rows: dict[str, dict[Key, Row]] = {t: {} for t in TABLES if t != WINDOWS}
        self._windows: dict[Key, Entries] = {}
        self._meta: dict[str, str] = {}
        self._pending: dict[str, dict[Key, Row | None]] = {t: {} for t in self._rows}
        self._pending_windows: dict[Key, Entries] = {}
        self._pending_meta: dict[str, str] = {}
        #: The outbox, (finding id, sink) → row, in insertion order; None: deleted, pending.
        self._outbox: dict[tuple[str, str], OutboxRow] = {}
        self._pending_outbox: dict[tuple[str, str], OutboxRow | None] = {}

    # -- reading (pending changes first) ------------------------------------------------------

    def empty(self, table: str) -> bool:
        if table == WINDOWS:
            return not any(self._windows.values()) and not any(self._pending_windows.values())
        return not self._rows[table] and not any(
            row is not None for row in self._pending[table].values()
        )

    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        found: dict[Key, Row] = {}
        pending, rows = self._pending[table], self._rows[table]
        for key in keys:
            row = pending[key] if key in pending else rows.get(key)
            if row is not None:
                found[key] = row
        return found

    def load_window(self, key: Key) -> Entries:
        entries = self._pending_windows.get(key)
        return list(entries if entries is not None else self._windows.get(key, []))

    def scan(self, table: str, prefix: Key) -> Iterator[tuple[Key, Row]]:
        width = len(prefix)
        merged = {**self._rows[table], **self._pending[table]}
        for key, row in merged.items():
            if row is not None and key[:width] == prefix:
                yield key, row

    def keys(self, table: str) -> Iterator[Key]:
        merged = {**self._rows[table], **self._pending[table]}
        return iter([key for key, row in merged.items() if row is not None])

    def count(self, table: str) -> int:
        if table == WINDOWS:
            windows = {**self._windows, **self._pending_windows}
            return sum(len(entries) for entries in windows.values())
        merged = {**self._rows[table], **self._pending[table]}
        return sum(1 for row in merged.values() if row is not None)

    def get_meta(self, key: str) -> str | None:
        return self._pending_meta.get(key, self._meta.get(key))

    # -- writing (pending until commit) -------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._pending_meta[key] = value

    def flush(self, changes: Changes) -> None:
        for table, pending in self._pending.items():
            pending.update(changes.upserts(table))
            pending.update(dict.fromkeys(changes.deletes(table), _GONE))
        self._pending_windows.update((key, list(entries)) for key, entries in changes.windows())

    def outbox_put(self, rows: Sequence[OutboxRow]) -> None:
        for row in rows:
            key = (row[0], row[1])
            if self._outbox_row(key) is None:
                self._pending_outbox[key] = row

    def _outbox_row(self, key: tuple[str, str]) -> OutboxRow | None:
        if key in self._pending_outbox:
            return self._pending_outbox[key]
        return self._outbox.get(key)

    def outbox_rows(self, scopes: Sequence[str] | None, limit: int) -> list[OutboxRow]:
        keys = dict.fromkeys([*self._outbox, *self._pending_outbox])
        rows = [row for key in keys if (row := self._outbox_row(key)) is not None]
        return [row for row in rows if scopes is None or row[2] in scopes][:limit]

    def outbox_done(self, sink: str, finding_ids: Sequence[str]) -> None:
        for finding_id in finding_ids:
            self._pending_outbox[(finding_id, sink)] = None

    def prune(self, cutoffs: Mapping[str, float]) -> int:
        removed = 0
        for table, cutoff in cutoffs.items():
            if table == WINDOWS:
                removed += self._prune_windows(cutoff)
                continue
            column, pending = prune_column(table), self._pending[table]
            for key, row in {**self._rows[table], **pending}.items():
                if row is not None and row[column] < cutoff:
                    pending[key] = _GONE
                    removed += 1
        return removed

    def _prune_windows(self, cutoff: float) -> int:
        removed = 0
        for key, entries in {**self._windows, **self._pending_windows}.items():
            kept = [entry for entry in entries if entry[0] >= cutoff]
            if len(kept) != len(entries):
                self._pending_windows[key] = kept
                removed += len(entries) - len(kept)
        return removed

    def commit(self) -> None:
        for table, pending in self._pending.items():
            rows = self._rows[table]
            for key, row in pending.items():
                if row is None:
                    rows.pop(key, None)
                else:
                    rows[key] = row
            pending.clear()
        for key, entries in self._pending_windows.items():
            if entries:
                self._windows[key] = entries
            else:
                self._windows.pop(key, None)
        self._pending_windows.clear()
        self._meta.update(self._pending_meta)
        self._pending_meta.clear()
        for key, row in self._pending_outbox.items():
            if row is None:
                self._outbox.pop(key, None)
            else:
                self._outbox[key] = row
        self._pending_outbox.clear()

    def rollback(self) -> None:
        for pending in self._pending.values():
            pending.clear()
        self._pending_windows.clear()
        self._pending_meta.clear()
        self._pending_outbox.clear()

    def close(self) -> None:
        self.rollback()
