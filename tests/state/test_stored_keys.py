"""A store past its cache size answers as the database would, and asks it only about keys it
may hold (monitor/state/stored_keys.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.state import stored_keys
from monitor.state.sqlite import Changes, Key, Row, SqliteBackend
from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class CountedBackend(SqliteBackend):
    """The real SQLite backend, counting the keys it is asked to load."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.asked: list[Key] = []
        self.scanned: list[str] = []

        self.deleted: list[Key] = []

    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        self.asked.extend(keys)
        return super().load(table, keys)

    def keys(self, table: str) -> Iterator[Key]:
        self.scanned.append(table)
        return super().keys(table)

    def flush(self, changes: Changes) -> None:
        for table in ("fact", "baseline"):
            self.deleted.extend(changes.deletes(table))
        super().flush(changes)


def evicted_store(tmp_path: Path, keys: int = 200) -> tuple[StateStore, CountedBackend]:
    """A store of ``keys`` first sightings, committed, whose cache then kept 10 rows."""
    backend = CountedBackend(str(tmp_path / "state.db"))
    store = StateStore(tmp_path / "state.db", cache_entries=10, backend=backend)
    for n in range(keys):
        store.touch("pair", f"old-{n}", T0)
        store.first_copy(f"assumption-{n}", T0)
    store.commit()  # evicts: from now on a miss may be a key the database holds
    return store, backend


def test_keys_never_written_cost_no_query_and_stored_ones_are_found(tmp_path: Path) -> None:
    store, backend = evicted_store(tmp_path)
    later = T0 + timedelta(hours=1)
    fresh = [store.touch("pair", f"new-{n}", later) for n in range(200)]
    assert fresh == [None] * 200
    assert all(store.first_copy(f"new-assumption-{n}", later) for n in range(200))
    # Each table's first misses are asked (then its filter is built), and at a 1 %
    # false-positive rate a few of the other new keys.
    assert len(backend.asked) <= 2 * stored_keys.BUILD_AFTER + 20
    backend.asked.clear()
    assert [store.touch("pair", f"old-{n}", later) for n in range(0, 200, 20)] == [T0] * 10
    assert not any(store.first_copy(f"assumption-{n}", later) for n in range(0, 200, 20))
    assert len(backend.asked) == 20, "each key the database holds is read from it once"


def test_a_reopened_store_knows_what_the_database_holds(tmp_path: Path) -> None:
    store, _ = evicted_store(tmp_path)
    store.close()
    backend = CountedBackend(str(tmp_path / "state.db"))
    reopened = StateStore(tmp_path / "state.db", cache_entries=10, backend=backend)
    later = T0 + timedelta(days=1)
    assert reopened.touch("pair", "old-7", later) == T0
    assert reopened.first_copy("assumption-7", later) is False
    assert reopened.touch("pair", "never", later) is None


def test_keys_rolled_back_are_asked_about_and_found_absent(tmp_path: Path) -> None:
    store, backend = evicted_store(tmp_path)
    later = T0 + timedelta(hours=1)
    store.touch("pair", "lost", later)
    store.sizes()  # flushes into the open transaction, which the rollback then drops
    store.rollback()
    assert store.touch("pair", "lost", later) is None
    assert ("pair", "lost") in backend.asked, "a superset: the filter still holds it"


def test_a_filter_that_outgrew_its_size_is_rebuilt_and_forgets_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_keys, "MIN_CAPACITY", 50)
    store, backend = evicted_store(tmp_path, keys=300)  # 300 keys in a 50-key filter
    for round_ in range(3):  # each commit past capacity rebuilds from the database
        for n in range(100):
            store.touch("pair", f"round-{round_}-{n}", T0)
        store.commit()
    backend.asked.clear()
    later = T0 + timedelta(hours=1)
    answers: list[Any] = [store.touch("pair", f"old-{n}", later) for n in range(300)]
    answers += [store.touch("pair", f"round-2-{n}", later) for n in range(100)]
    assert answers == [T0] * 400


def test_a_fact_gone_before_any_checkpoint_wrote_it_costs_no_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_keys, "BUILD_AFTER", 0)  # the filter from the first question
    backend = CountedBackend(str(tmp_path / "state.db"))
    store = StateStore(tmp_path / "state.db", backend=backend)
    store.remember("session", "stored", "v", T0 + timedelta(hours=1))
    store.commit()
    store.remember("session", "brief", "v", T0 + timedelta(hours=1))
    store.forget("session", "brief")
    store.forget("session", "stored")
    store.commit()
    assert backend.deleted == [("session", "stored")]
    store.close()
    reopened = StateStore(tmp_path / "state.db")
    assert reopened.recall("session", "stored", T0) is None


def test_reading_a_few_keys_of_a_filled_state_scans_no_table(tmp_path: Path) -> None:
    store, _ = evicted_store(tmp_path, keys=300)
    store.close()
    backend = CountedBackend(str(tmp_path / "state.db"))
    reopened = StateStore(tmp_path / "state.db", backend=backend)
    later = T0 + timedelta(days=1)
    assert [reopened.last_seen("pair", f"old-{n}") for n in range(0, 300, 30)] == [T0] * 10
    assert reopened.touch("pair", "never", later) is None
    assert backend.scanned == [], "a few questions are answered by the database alone"
    for n in range(stored_keys.BUILD_AFTER):
        reopened.touch("pair", f"new-{n}", later)
    assert backend.scanned == ["baseline"], "a table asked often gets its filter, alone"
