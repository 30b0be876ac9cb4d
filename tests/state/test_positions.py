"""Applied positions: a message the state already holds is recognised, whoever reads it next."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.state.memory import MemoryBackend
from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_message_is_new_until_its_state_is_committed() -> None:
    backend = MemoryBackend()
    first = StateStore(backend=backend)
    assert first.set_position("t", 0, 0) and first.set_position("t", 0, 1)
    assert first.set_position("t", 1, 7)
    first.commit()
    assert first.set_position("t", 0, 2)  # processed, not committed: lost with a crash
    first.rollback()
    again = StateStore(backend=backend)  # a restart, or the partitions' next owner
    assert not again.set_position("t", 0, 0) and not again.set_position("t", 0, 1)
    assert again.set_position("t", 0, 2), "the uncommitted message is read as new"
    assert not again.set_position("t", 1, 6) and again.set_position("t", 1, 7 + 1)
    assert again.set_position("u", 0, 0), "another topic has positions of its own"


def test_a_refresh_reads_what_another_owner_committed() -> None:
    backend = MemoryBackend()
    mine, theirs = StateStore(backend=backend), StateStore(backend=backend)
    assert mine.set_position("t", 0, 0)
    mine.commit()
    for offset in range(1, 5):  # the partition moved; its new owner went on
        assert theirs.set_position("t", 0, offset)
    theirs.commit()
    mine.refresh()  # it comes back: what the other owner applied is not applied again
    assert not mine.set_position("t", 0, 4) and mine.set_position("t", 0, 5)


def test_positions_are_written_with_the_state_they_cover() -> None:
    backend = MemoryBackend()
    store = StateStore(backend=backend)
    store.set_position("t", 3, 41)
    store.add_to_window("denied", "p", T0, "x")
    assert backend.get_meta("applied:t:3") is None
    store.commit()
    assert backend.get_meta("applied:t:3") == "42"
    assert StateStore(backend=backend).window("denied", "p", T0) == [(T0, "x")]
