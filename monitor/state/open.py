"""Opening the state file: every problem a one-line message (exit 2), a lost state a loud warning.

Why a module of its own: a state that cannot be opened used to end ``run`` with a traceback and
exit 1, which an orchestrator restarts forever; a state that silently starts empty costs a
7-day blind spot while first-seen detection learns again. Both are operator problems, so they
are named here before any SQLite connection is handed to the pipeline:

- the folder is missing, or is a file → ``state.path ...: folder ... does not exist``;
- the file is not SQLite, is shorter than its header says (truncated), or SQLite reports it
  malformed → ``... is corrupt ...; move it away to start with an empty state``;
- the file or folder cannot be written (SQLite also writes ``-wal``/``-shm`` beside it);
- the file exists but holds nothing (zero bytes, or no ``observation_start``) although it was
  expected → a WARNING line and ``role_monitor_state_reset = 1``; the monitor still starts.

The store's own code (monitor/state/store.py) is not changed: everything here is checks around it.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from monitor.config.settings import ConfigError
from monitor.metrics import Metrics
from monitor.state.store import StateStore

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Written at every open, so "exists but empty" means the file lost its content since.
MARKER = "opened_before"
HINT = "move it away to start with an empty state"


class StateError(ConfigError):
    """The state file cannot be used; one line naming the path (exit status 2)."""


def open_state(path: str | Path, metrics: Metrics | None = None) -> StateStore:
    """A :class:`StateStore` at ``path``, or :class:`StateError` with one line saying why."""
    if str(path) == ":memory:":
        return StateStore(":memory:")
    file = Path(path)
    _check_folder(file)
    existed = file.exists()
    if existed:
        _check_file(file)
    store, empty = _connect(file)
    if existed and empty:
        log.warning(
            "state file exists but holds no state: first-seen detection learns again from now",
            extra={"path": str(file)},
        )
    if metrics is not None:
        metrics.state_reset.set(1 if existed and empty else 0)
    return store


def _check_folder(file: Path) -> None:
    folder = file.parent
    if not folder.exists():
        raise StateError(f"state.path {file}: folder {folder} does not exist")
    if not folder.is_dir():
        raise StateError(f"state.path {file}: {folder} is not a folder")
    if file.is_dir():
        raise StateError(f"state.path {file}: is a folder, not a file")


def _check_file(file: Path) -> None:
    try:
        with file.open("rb") as handle:
            header = handle.read(100)
        size = file.stat().st_size
    except OSError as exc:
        raise StateError(f"state.path {file}: cannot read: {exc.strerror or exc}") from None
    if size == 0:
        return  # reported as a reset, not an error: SQLite makes a database of it
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        raise StateError(f"state.path {file} is corrupt (not an SQLite database); {HINT}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if page_size < 512 or size < page_size * pages:
        raise StateError(
            f"state.path {file} is corrupt (truncated: {size} of {page_size * pages} bytes); {HINT}"
        )


def _connect(file: Path) -> tuple[StateStore, bool]:
    """The store, and whether it holds nothing (no marker of an earlier open, no events)."""
    try:
        store = StateStore(file)
    except sqlite3.DatabaseError as exc:
        raise _described(file, exc) from None
    try:
        store.sizes()  # reads every table: a malformed page shows now, not mid-stream
        empty = store.get_meta(MARKER) is None and store.get_meta("observation_start") is None
        store.set_meta(MARKER, "1")  # a write: a read-only file or folder shows now
        store.commit()
    except sqlite3.DatabaseError as exc:
        store.close()
        raise _described(file, exc) from None
    return store, empty


def _described(file: Path, exc: sqlite3.DatabaseError) -> StateError:
    text = str(exc)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StateError(f"state.path {file} cannot be written ({text}); check its permissions")
    return StateError(f"state.path {file} is corrupt ({text}); {HINT}")
