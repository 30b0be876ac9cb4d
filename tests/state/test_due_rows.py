"""A prune that reads only the rows its index says may be due drops exactly what walking the
whole cache dropped (monitor/state/due_rows.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.state.documents import Codec, as_text
from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
JSON: Codec[Any] = Codec(json.dumps, json.loads)
KEYS = st.sampled_from([f"k{n}" for n in range(12)])
#: Event times within a week, as minutes: prunes pass some rows and not others.
MINUTES = st.integers(min_value=0, max_value=7 * 24 * 60)

OPS = st.one_of(
    st.tuples(st.just("touch"), KEYS, MINUTES),
    st.tuples(st.just("first_copy"), KEYS, MINUTES),
    st.tuples(st.just("remember"), KEYS, MINUTES, st.integers(0, 48 * 60)),
    st.tuples(st.just("remember_doc"), KEYS, MINUTES, st.integers(0, 48 * 60)),
    st.tuples(st.just("forget"), KEYS),
    st.tuples(st.just("commit")),
    st.tuples(st.just("prune"), st.integers(0, 24 * 60), st.integers(0, 8 * 24 * 60)),
)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def walking(store: StateStore) -> StateStore:
    """The same store without the index: each prune walks every cached row, as before it."""
    store._cache.due = None
    return store


def apply(store: StateStore, op: tuple[Any, ...]) -> object:
    """Run one operation; return what a detector would see of it."""
    match op:
        case ("touch", key, minute):
            return store.touch("pair", key, at(minute))
        case ("first_copy", key, minute):
            return store.first_copy(key, at(minute))
        case ("remember", key, minute, life):
            store.remember("session", key, "v", at(minute + life))
            return store.recall("session", key, at(minute))
        case ("remember_doc", key, minute, life):
            expires = at(minute + life)
            store.remember_doc("chain", [key, f"{key}-id"], {"n": minute}, expires, JSON)
            return store.recall_doc("chain", f"{key}-id", at(minute), JSON)
        case ("forget", key):
            store.forget("session", key)
            return None
        case ("commit",):
            store.commit()
            return None
        case ("prune", retention, now):
            now_at = at(now)
            return store.prune(now_at - timedelta(minutes=retention), now=now_at)
    raise AssertionError(op)


def cached(store: StateStore) -> dict[str, dict[Any, Any]]:
    """The cache's rows, documents as their text (two stores' documents are not the same)."""
    return {
        table: {
            key: row and (as_text(row[0]), *row[1:]) if table == "fact" else row
            for key, row in rows.items()
        }
        for table, rows in store._cache.rows.items()
    }


def seen(store: StateStore, minute: int) -> list[object]:
    """Everything the store answers about every key at one moment."""
    moment = at(minute)
    return [
        answer
        for n in range(12)
        for answer in (
            store.last_seen("pair", f"k{n}"),
            store.recall("session", f"k{n}", moment),
            store.recall_doc("chain", f"k{n}-id", moment, JSON),
        )
    ]


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(OPS, max_size=60))
def test_an_indexed_prune_drops_what_a_walk_of_the_cache_drops(ops: list[tuple[Any, ...]]) -> None:
    # A cache of 8 rows evicts at each commit, so rows also come back from the database.
    indexed = StateStore(":memory:", cache_entries=8)
    walked = walking(StateStore(":memory:", cache_entries=8))
    for op in ops:
        assert apply(indexed, op) == apply(walked, op), op
        if op[0] == "prune":
            assert cached(indexed) == cached(walked)
    for minute in (0, 3 * 24 * 60, 8 * 24 * 60):
        assert seen(indexed, minute) == seen(walked, minute)


def test_a_prune_forgets_expired_facts_and_old_pairs_and_keeps_the_rest(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db")
    store.touch("pair", "old", T0)
    store.touch("pair", "recent", T0 + timedelta(days=5))
    store.remember("session", "short", "v", T0 + timedelta(hours=1))
    store.remember("session", "renewed", "v", T0 + timedelta(hours=1))
    store.remember("session", "renewed", "v", T0 + timedelta(days=9))
    store.commit()
    now = T0 + timedelta(days=6)
    assert store.prune(now - timedelta(days=3), now=now) == 2
    assert store.last_seen("pair", "old") is None
    assert store.last_seen("pair", "recent") == T0 + timedelta(days=5)
    assert store.recall("session", "short", T0) is None
    assert store.recall("session", "renewed", now) == "v"


def test_a_row_read_back_after_eviction_is_pruned_like_one_never_evicted(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.db", cache_entries=2)
    store.touch("pair", "old", T0)
    for n in range(6):
        store.touch("pair", f"recent-{n}", T0 + timedelta(days=5))
    store.commit()  # keeps about two rows: "old" is evicted
    store.touch("pair", "older", T0 - timedelta(days=2))
    now = T0 + timedelta(days=6)
    assert store.prune(T0 - timedelta(days=1), now=now) == 1  # "older"; the rest is recent
    assert store.last_seen("pair", "old") == T0  # read back from the database
    store.prune(T0 + timedelta(days=1), now=now)
    assert store.last_seen("pair", "old") is None


def test_the_index_holds_one_entry_per_cached_fact_however_often_it_is_written() -> None:
    """A rate baseline is written at every assumption and lives a retention: filed at every
    write, a long-running service would keep an entry per hour of its life."""
    store = StateStore(":memory:", cache_entries=20)
    for hour in range(500):
        moment = T0 + timedelta(hours=hour)
        store.remember_doc("rate", ["busy-role"], {"n": hour}, moment + timedelta(days=90), JSON)
        store.remember("session", f"s{hour}", "v", moment + timedelta(hours=1))
        if hour % 24 == 23 or hour == 499:
            store.commit()  # evicts: a cache of 20 rows
            store.prune(moment - timedelta(days=90), now=moment - timedelta(days=1))
    index = store._cache.due
    assert index is not None
    filed = sum(len(keys) for keys in index._hours.values())
    cached = sum(row is not None for row in store._cache.rows["fact"].values())
    assert filed <= cached <= 40
