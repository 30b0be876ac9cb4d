"""Rebalance hooks that hand partitions over cleanly without stalling kafka-python's IO thread.

kafka-python 3 runs rebalance listeners on its IO event loop, the loop that also sends
heartbeats, and refuses blocking consumer calls (``commit()``) from it. Handing over a
partition, though, needs blocking work: deliver the findings in hand, commit state, produce dead
letters, commit offsets. So the async listener starts that work on a worker thread and awaits
its end in short sleeps, which keeps the loop (heartbeats, the commit request itself) turning.

Only ``poll()`` and ``close()`` run the listener, and the service's own thread is blocked inside
them meanwhile, so the worker is the only one touching the batch while it runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import Any, Protocol

from kafka import AsyncConsumerRebalanceListener

log = logging.getLogger(__name__)

#: How often the listener checks whether the worker finished (the IO loop runs in between).
WAIT_STEP_S = 0.02


class HandoverTarget(Protocol):
    """What the listener needs from the service."""

    def partitions_assigned(self, assigned: Collection[Any]) -> None: ...

    def partitions_revoked(self, revoked: Collection[Any]) -> bool:
        """Quick bookkeeping; True when in-flight work must be made safe first."""
        ...

    def hand_over(self) -> None:
        """Blocking: checkpoint (or abandon) the in-flight batch."""
        ...

    def partitions_lost(self, lost: Collection[Any]) -> None: ...


class HandoverListener(AsyncConsumerRebalanceListener):
    """Finishes and commits in-flight work before the group moves partitions elsewhere."""

    def __init__(self, target: HandoverTarget, consumer: Any) -> None:
        self._target = target
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Collection[Any]) -> None:
        if self._target.partitions_revoked(revoked):
            await run_off_loop(self._consumer, self._target.hand_over)

    async def on_partitions_assigned(self, assigned: Collection[Any]) -> None:
        self._target.partitions_assigned(assigned)

    async def on_partitions_lost(self, lost: Collection[Any]) -> None:
        # The group already gave them away: committing would fail, delivering would double.
        self._target.partitions_lost(lost)


async def run_off_loop(consumer: Any, work: Callable[[], None]) -> None:
    """Run blocking ``work`` on a worker thread; await it without blocking the IO loop."""
    finished = threading.Event()

    def target() -> None:
        try:
            work()
        except Exception:
            log.exception("partition hand-over failed")
        finally:
            finished.set()

    worker = threading.Thread(target=target, name="role-monitor-handover", daemon=True)
    worker.start()
    sleep = _loop_sleep(consumer)
    if sleep is None:
        log.warning("kafka-python has no awaitable sleep here; the hand-over blocks its IO loop")
        worker.join()
        return
    while not finished.is_set():
        await sleep(WAIT_STEP_S)


def _loop_sleep(consumer: Any) -> Callable[[float], Any] | None:
    """The IO loop's own awaitable sleep.

    kafka-python 3.0 exposes no public one; its selector's ``sleep`` is what the library awaits
    internally. Looked up defensively so a future release degrades to a (logged) blocking wait
    instead of breaking rebalances.
    """
    net = getattr(consumer, "_net", None)
    sleep = getattr(net, "sleep", None)
    return sleep if callable(sleep) else None
