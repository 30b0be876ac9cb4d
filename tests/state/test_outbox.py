"""The outbox in every backend: rows durable only with the state's commit, scoped, ordered,
dropped per sink, and a row written twice kept once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.state.postgres import PostgresBackend
from monitor.state.store import StateStore

ROWS = [
    ("f1", "jsonl", "t:0", 1.0, b'{"n":1}'),
    ("f1", "webhook", "t:0", 1.0, b'{"n":1}'),
    ("f2", "jsonl", "t:1", 2.0, b'{"n":2}'),
]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], StateStore]]:
    """A function opening the same store again (a restart), per backend."""
    if request.param == "memory":
        shared = StateStore(":memory:")
        yield lambda: shared
        return
    if request.param == "sqlite":
        yield lambda: StateStore(tmp_path / "state.db")
        return
    url = request.getfixturevalue("postgres_url")
    yield lambda: StateStore(url, backend=PostgresBackend(url))


def test_rows_are_durable_with_the_commit_and_dropped_per_sink(
    opener: Callable[[], StateStore],
) -> None:
    state = opener()
    state.outbox_put(ROWS)
    state.outbox_put(ROWS[:1])  # a retried checkpoint writes its rows again: kept once
    assert state.outbox_rows(None, 10) == ROWS, "visible in the open transaction, in order"
    state.rollback()
    assert state.outbox_rows(None, 10) == [], "gone with the state's rollback"
    state.outbox_put(ROWS)
    state.commit()
    state.outbox_done("jsonl", ["f1"])
    again = opener()
    assert again.outbox_rows(None, 10) == ROWS[1:]
    assert again.outbox_rows(["t:1"], 10) == ROWS[2:], "scoped by partition"
    assert again.outbox_rows(["t:0", "t:1"], 1) == ROWS[1:2], "limited, oldest first"
    again.outbox_done("webhook", ["f1"], commit=False)
    again.rollback()
    assert len(again.outbox_rows(None, 10)) == 2, "not dropped without a commit"
