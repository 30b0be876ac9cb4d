"""Which CloudTrail event times the pipeline may believe.

The pipeline's clock is event time (replays give the same findings every time), so one record
decides a lot: it moves ``now`` forward, which expires state older than the retention, and the
first record a fresh state sees starts the learning period. A forged ``eventTime`` in 2099 would
thus prune every baseline and page every known pair again; one dated 1970 would skip learning.

The decision (documented in README "Event time you can trust"): a record whose ``eventTime`` is
more than ``clock.max_ahead`` ahead of the wall clock, earlier than CloudTrail itself, or (``run``
only) older than ``clock.max_age``, is *implausible*. It is dead-lettered with reason
``implausible_event_time`` and counted in ``role_monitor_dead_letters_total``: it never reaches
the detectors, never advances the clock, never sets the observation start. A dead letter rather
than a finding because a real CloudTrail record cannot carry such a time: it is either forged or
broken, and the dead-letter topic keeps it for whoever investigates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: CloudTrail launched on 2013-11-13; no genuine record is older.
CLOUDTRAIL_EPOCH = datetime(2013, 11, 1, tzinfo=UTC)
REASON = "implausible_event_time"


def _wall() -> datetime:
    return datetime.now(UTC)


@dataclass
class EventClock:
    """Judges event times against the wall clock (``wall``, injectable for tests)."""

    max_ahead: timedelta = timedelta(minutes=15)
    #: None: any time since CloudTrail began (replay, learn); set by ``run``.
    max_age: timedelta | None = None
    wall: Callable[[], datetime] = field(default=_wall)

    def implausible(self, at: datetime, wall: datetime | None = None) -> str | None:
        """Why ``at`` cannot be a genuine event time now, or None when it can."""
        wall = wall or self.wall()
        if at - wall > self.max_ahead:
            return f"eventTime {at.isoformat()} is more than {self.max_ahead} ahead of the clock"
        if at < CLOUDTRAIL_EPOCH:
            return f"eventTime {at.isoformat()} is before CloudTrail existed"
        if self.max_age is not None and wall - at > self.max_age:
            return f"eventTime {at.isoformat()} is older than clock.max_age ({self.max_age.days}d)"
        return None


@dataclass
class StreamMarks:
    """How far each stream (a Kafka partition; replay is one stream) has got, robust to one
    outlier: what the pipeline's clock may follow (issue 21, point 4).

    Why: the wall-clock bound alone let one record of a 2025 backfill dated ten minutes from
    now move the clock to today; the next prune deleted every 2025 baseline (684 rows -> 0)
    and 20 of 20 known pairs paged again. Now a time more than ``max_ahead`` ahead of its
    stream's mark (or, for a stream's first record, of every stream's) moves nothing on its
    own; a second such record of the stream corroborates it, and the mark moves to the earlier
    of the two. The record itself is processed as usual (never lost), at its own event time.
    """

    max_ahead: timedelta = timedelta(minutes=15)
    #: Which stream the next times belong to (set by the Kafka intake for each message).
    source: object = None
    _marks: dict[object, datetime] = field(default_factory=dict)
    _pending: dict[object, datetime] = field(default_factory=dict)

    def observe(self, at: datetime) -> datetime:
        """Note ``at`` for the current stream; the newest mark of every stream."""
        marks = self._marks
        own = marks.get(self.source)
        reference = own if own is not None else max(marks.values(), default=None)
        if reference is None or at - reference <= self.max_ahead:
            if own is None or at > own:
                marks[self.source] = at
        elif self.source in self._pending:  # a second record this far ahead: the stream moved
            marks[self.source] = min(self._pending.pop(self.source), at)
        else:
            self._pending[self.source] = at
        return max(marks.values(), default=at)


@dataclass
class StartVote:
    """The learning period's start from the first few records, not one (issue 21, point 4).

    Why: in ``run``, one first record dated 2024-01-01 (inside ``clock.max_age``) started the
    learning period then, so pairs first seen in the real 2026 stream fired (30 first-seen
    findings instead of 23). Now the first ``needed`` times vote: the start is the earliest
    of them within ``tolerance`` of their median, stored once ``needed`` have voted (before,
    the same rule over the times so far: two records already outvote one stray).
    """

    needed: int = 5
    tolerance: timedelta = timedelta(days=1)
    times: list[datetime] = field(default_factory=list)

    def offer(self, at: datetime) -> tuple[datetime, bool]:
        """The start to use for ``at``, and whether it is decided (to be stored)."""
        self.times.append(at)
        ordered = sorted(self.times)
        median = ordered[len(ordered) // 2]
        start = min(t for t in ordered if median - t <= self.tolerance)
        return start, len(ordered) >= self.needed


def minus(at: datetime, delta: timedelta) -> datetime:
    """``at - delta``, saturating at the earliest datetime instead of raising OverflowError."""
    try:
        return at - delta
    except OverflowError:
        return datetime.min.replace(tzinfo=at.tzinfo)


def plus(at: datetime, delta: timedelta) -> datetime:
    """``at + delta``, saturating at the last whole second of year 9999 (a valid ISO date must
    never raise; whole, because a float timestamp of ``datetime.max`` rounds into year 10000)."""
    try:
        return at + delta
    except OverflowError:
        return datetime.max.replace(microsecond=0, tzinfo=at.tzinfo)
