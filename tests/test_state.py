"""The state store: durable only at commit, bounded by retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.state import StateStore

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
