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
