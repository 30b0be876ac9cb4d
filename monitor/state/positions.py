"""Which Kafka messages the state already holds the effects of: re-reading one changes nothing.

Why: state is committed at a checkpoint before the offsets are. A crash, a kill or a
rebalance between the two hands the same messages to a reader again (the restarted instance,
or the partition's new owner), and every window, rate, count and first-seen update they made
would be made twice: three denials under the burst threshold of five, read twice, paged a
high burst. Copies are recognised by the assumption's id, but a group member does not read
the stored ids (a round trip per record), and change events and counts have no such id.

So the state remembers, per partition, the next offset whose effects it does not hold yet,
written in the same transaction as the windows and baselines the messages changed: a message
below it is skipped whole, whoever reads it. One row per partition, read once per partition
after a start, a rollback or a new assignment; nothing per message but a dictionary lookup.
With the transactional outbox (findings committed with the state) the findings of a skipped
message are already in the outbox, so nothing is lost either.
"""

from __future__ import annotations

from typing import Protocol

#: ``(topic, partition)``.
Partition = tuple[str, int]
#: The meta key of a partition's next unapplied offset.
PREFIX = "applied:"


class Meta(Protocol):
    """The two meta calls of a state backend (inside its open transaction)."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


def meta_key(partition: Partition) -> str:
    topic, number = partition
    return f"{PREFIX}{topic}:{number}"


class AppliedPositions:
    """Next unapplied offset per partition: read lazily, written at the state commit."""

    def __init__(self) -> None:
        self._next: dict[Partition, int] = {}
        self._dirty: set[Partition] = set()

    def take(self, backend: Meta, partition: Partition, offset: int) -> bool:
        """True when the message at ``offset`` is new to the state (and now counts as applied);
        False when the state already holds its effects: skip it."""
        known = self._next.get(partition)
        if known is None:
            stored = backend.get_meta(meta_key(partition))
            known = int(stored) if stored is not None else -1
        if offset < known:
            self._next[partition] = known
            return False
        self._next[partition] = offset + 1
        self._dirty.add(partition)
        return True

    def write(self, backend: Meta) -> None:
        """Write what changed into the open transaction (call right before it commits)."""
        for partition in sorted(self._dirty):
            backend.set_meta(meta_key(partition), str(self._next[partition]))

    def committed(self) -> None:
        self._dirty.clear()

    def forget(self) -> None:
        """Read every partition's position again (rolled back, or partitions reassigned: the
        last owner may have moved them)."""
        self._next.clear()
        self._dirty.clear()

    def forget_clean(self) -> None:
        """Read again the positions this instance has not changed since its last commit."""
        self._next = {p: n for p, n in self._next.items() if p in self._dirty}
