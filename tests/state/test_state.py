"""The state store: durable only at commit, bounded by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_writes_become_durable_only_at_commit(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = StateStore(path)
    assert store.touch("pair", "a", T0) is None
    store.commit()
    assert store.touch("pair", "b", T0) is None
    store.close()  # crash before the next checkpoint
    reopened = StateStore(path)
    assert reopened.touch("pair", "a", T0 + timedelta(hours=1)) == T0
    assert reopened.touch("pair", "b", T0) is None


def test_first_copy_and_delivered_ids() -> None:
    store = StateStore()
    assert store.first_copy("shared-1", T0) is True
    assert store.first_copy("shared-1", T0) is False
    assert store.mark_delivered("f-1", T0) is True
    assert store.mark_delivered("f-1", T0) is False


def test_merge_window_counts_repeats_and_reopens() -> None:
    store = StateStore()
    window = timedelta(hours=1)
    assert store.merge_repeat("k", T0, window) == 0
    assert store.merge_repeat("k", T0 + timedelta(minutes=30), window) == 1
    assert store.merge_repeat("k", T0 + timedelta(minutes=59), window) == 2
    assert store.merge_repeat("k", T0 + timedelta(hours=2), window) == 0


def test_prune_expires_old_rows_by_event_time() -> None:
    store = StateStore()
    store.touch("pair", "old", T0)
    store.touch("pair", "new", T0 + timedelta(days=100))
    store.add_to_window("denied", "p", T0)
    removed = store.prune(T0 + timedelta(days=10))
    assert removed == 2
    assert dict((table, rows) for table, rows in store.sizes())["baseline"] == 1


def test_observation_start_is_remembered() -> None:
    store = StateStore()
    assert store.observation_start(T0) == T0
    assert store.observation_start(T0 + timedelta(days=3)) == T0


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_rollback_discards_cached_writes_keeps_committed_ones(tmp_path: Path, backend: str) -> None:
    store = StateStore(_where(tmp_path, backend))
    store.touch("pair", "kept", T0)
    store.remember("ns", "kept", "1", T0 + timedelta(days=1))
    store.commit()
    store.touch("pair", "lost", T0)
    store.first_copy("shared-lost", T0)
    store.add_to_window("denied", "p", T0)
    store.remember("ns", "kept", "2", T0 + timedelta(days=1))
    store.rollback()
    assert store.touch("pair", "kept", T0 + timedelta(hours=1)) == T0
    assert store.touch("pair", "lost", T0) is None
    assert store.first_copy("shared-lost", T0) is True
    assert store.window("denied", "p", T0) == []
    assert store.recall("ns", "kept", T0) == "1"


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_evicted_rows_are_read_back_from_the_backend(tmp_path: Path, backend: str) -> None:
    store = StateStore(_where(tmp_path, backend), cache_entries=10)
    for n in range(50):
        store.touch("pair", f"k{n}", T0 + timedelta(minutes=n))
        store.first_copy(f"id{n}", T0)
        store.add_to_window("denied", f"p{n % 5}", T0 + timedelta(minutes=n), str(n))
        store.commit()
    assert store.touch("pair", "k0", T0 + timedelta(days=1)) == T0
    assert store.first_copy("id0", T0) is False
    assert store.first_copy("id-new", T0) is True
    items = [item for _, item in store.window("denied", "p0", T0)]
    assert items == [str(n) for n in range(0, 50, 5)]
    assert len(list(store.baseline_keys("pair"))) == 50


def test_window_entries_keep_time_order_and_insertion_order_on_ties() -> None:
    store = StateStore()
    store.add_to_window("ns", "k", T0 + timedelta(minutes=2), "late")
    store.add_to_window("ns", "k", T0, "first")
    store.add_to_window("ns", "k", T0, "second")
    assert [item for _, item in store.window("ns", "k", T0)] == ["first", "second", "late"]


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_pruned_rows_leave_the_cache_too(tmp_path: Path, backend: str) -> None:
    store = StateStore(_where(tmp_path, backend))
    store.touch("pair", "old", T0)
    store.first_copy("old-id", T0)
    store.commit()
    store.prune(T0 + timedelta(days=1))
    assert store.touch("pair", "old", T0 + timedelta(days=2)) is None
    assert store.first_copy("old-id", T0 + timedelta(days=2)) is True


def test_uncommitted_writes_are_counted_and_listed() -> None:
    store = StateStore()
    store.touch("pair", "a", T0)
    assert [key for key, *_ in store.baseline_keys("pair")] == ["a"]
    assert dict(store.sizes())["baseline"] == 1


def _where(tmp_path: Path, backend: str) -> Path | str:
    return tmp_path / "s.db" if backend == "sqlite" else ":memory:"
