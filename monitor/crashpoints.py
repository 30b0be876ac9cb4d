"""Crash points: a test makes the process kill itself at the Nth pass over a named step.

For the crash tests only (``tests/test_crash_harness.py``, ``tests/test_forward.py``):
``RM_CRASH_AT=step:N``
sends ``RM_CRASH_SIGNAL`` (``KILL`` by default, or ``TERM``) to this process the Nth
time :func:`reached` is called with ``step``. Unset (always, outside tests) it costs one
dictionary lookup per checkpoint step. Steps are named where they are called: see
:mod:`monitor.service.checkpoint`, :mod:`monitor.sinks.delivery` and
:mod:`monitor.service.forwarder` (``forward_record``: a record handed to the producer).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_passes: Counter[str] = Counter()


def _target() -> tuple[str, int] | None:
    spec = os.environ.get("RM_CRASH_AT")
    if not spec:
        return None
    step, _, count = spec.partition(":")
    return step, int(count or 1)


_TARGET = _target()


def reached(step: str) -> None:
    """Count one pass over ``step``; the configured signal when it is the chosen one."""
    if _TARGET is None or _TARGET[0] != step:
        return
    _passes[step] += 1
    if _passes[step] == _TARGET[1]:
        name = os.environ.get("RM_CRASH_SIGNAL", "KILL")
        os.kill(os.getpid(), getattr(signal, f"SIG{name}"))
