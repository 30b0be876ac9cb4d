"""The StateStore methods the detectors added: window trimming and expiring facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.state import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_trim_window_drops_only_older_entries_of_one_key() -> None:
    state = StateStore()
    for minutes in (0, 1, 2, 10):
        state.add_to_window("ns", "a", T0 + timedelta(minutes=minutes), str(minutes))
    state.add_to_window("ns", "b", T0, "other key")
    assert state.trim_window("ns", "a", T0 + timedelta(minutes=2)) == 2
    assert [item for _, item in state.window("ns", "a", T0)] == ["2", "10"]
    assert [item for _, item in state.window("ns", "b", T0)] == ["other key"]


def test_remember_and_recall_honour_expiry_in_event_time() -> None:
    state = StateStore()
    state.remember("ns", "k", "v1", T0 + timedelta(hours=1))
    assert state.recall("ns", "k", T0) == "v1"
    assert state.recall("ns", "k", T0 + timedelta(minutes=59)) == "v1"
    assert state.recall("ns", "k", T0 + timedelta(hours=1)) is None
    assert state.recall("other", "k", T0) is None


def test_remember_replaces_and_forget_removes() -> None:
    state = StateStore()
    state.remember("ns", "k", "v1", T0 + timedelta(hours=1))
    state.remember("ns", "k", "v2", T0 + timedelta(hours=2))
    assert state.recall("ns", "k", T0 + timedelta(minutes=90)) == "v2"
    state.forget("ns", "k")
    assert state.recall("ns", "k", T0) is None


def test_prune_removes_expired_facts_and_sizes_report_them() -> None:
    state = StateStore()
    state.remember("ns", "old", "x", T0)
    state.remember("ns", "new", "y", T0 + timedelta(days=10))
    assert dict(state.sizes())["fact"] == 2
    assert state.prune(T0 + timedelta(days=1)) == 1
    assert dict(state.sizes())["fact"] == 1
    assert state.recall("ns", "new", T0 + timedelta(days=2)) == "y"


def test_facts_survive_commit_and_roll_back_without_it(tmp_path: object) -> None:
    path = f"{tmp_path}/state.db"
    state = StateStore(path)
    state.remember("ns", "kept", "1", T0 + timedelta(days=1))
    state.commit()
    state.remember("ns", "lost", "2", T0 + timedelta(days=1))
    state.close()
    reopened = StateStore(path)
    assert reopened.recall("ns", "kept", T0) == "1"
    assert reopened.recall("ns", "lost", T0) is None
    reopened.close()
