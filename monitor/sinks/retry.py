"""Short retries inside one send: a few attempts with capped, jittered exponential backoff.

Only transient failures (HTTP 429 and 5xx, refused or reset connections, timeouts) are retried,
and only briefly: a receiver that stays down must surface as :class:`SinkError` quickly, so the
consumer can pause, keep its offsets uncommitted and show the outage in metrics. The long wait
is the consumer's back-pressure loop, never a sleep hidden in here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from monitor.sinks.base import SinkError

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransientSinkError(SinkError):
    """A failure that may go away on its own; ``retry_after`` is the receiver's hint (s)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Deadline:
    """When one sink call must end (``alerts.call_timeout``), whatever its attempts take.

    Why: each socket operation had a 10 s timeout and each POST three attempts, so a receiver
    that accepts and never answers held the checkpoint (and the consumer loop, its lag
    snapshot, and the readiness it feeds) for a minute per batch.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds

    def remaining(self) -> float:
        return self._at - self._clock()

    def left(self, what: str) -> float:
        """Seconds left for the next attempt; :class:`TransientSinkError` when none are."""
        left = self.remaining()
        if left <= 0:
            raise TransientSinkError(
                f"{what}: no answer within {self.seconds:g}s (alerts.call_timeout)"
            )
        return left


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    initial: float = 0.2
    maximum: float = 2.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        """Full-jitter backoff: uniform in [0, min(maximum, initial * 2**n)]."""
        for attempt in range(self.attempts - 1):
            yield rng.uniform(0, min(self.maximum, self.initial * 2**attempt))


NO_RETRY = RetryPolicy(attempts=1)
_rng = random.Random()


def with_retries(
    operation: Callable[[], T],
    policy: RetryPolicy = RetryPolicy(),
    *,
    on_retry: Callable[[TransientSinkError], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
) -> T:
    """``operation()``, retried on :class:`TransientSinkError`; the last failure propagates,
    also when the next attempt would start past ``deadline``."""
    delays = policy.delays(_rng)
    while True:
        try:
            return operation()
        except TransientSinkError as exc:
            delay = next(delays, None)
            if delay is None:
                raise
            if exc.retry_after is not None:  # the receiver knows best, within our cap
                delay = min(max(delay, exc.retry_after), policy.maximum)
            if deadline is not None and delay >= deadline.remaining():
                raise
            log.info("transient sink failure, retrying in %.2fs: %s", delay, exc)
            if on_retry is not None:
                on_retry(exc)
            sleep(delay)
