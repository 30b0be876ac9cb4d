"""Progress of a long read (``replay``, ``learn``, ``produce``): records, rate and ETA.

On a terminal one line is redrawn in place (at most a few times a second); otherwise (a log
file, a CI job, systemd) a plain line is written every ``every`` seconds, so a day-long
``learn`` says how far it is without flooding its log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between progress lines when the stream is not a terminal, and between redraws.
LOG_EVERY_S = 30.0
REDRAW_EVERY_S = 0.2


class Progress:
    def __init__(
        self,
        total: int,
        stream: TextIO,
        unit: str = "files",
        every: float = LOG_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.unit = unit
        self.stream = stream
        self.tty = _isatty(stream)
        self.every = REDRAW_EVERY_S if self.tty else every
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.records = 0
        self._shown_at = self.started
        self._drawn = False

    def advance(self, records: int, steps: int = 1) -> None:
        """``steps`` more units done; ``records`` is the running total of records."""
        self.done += steps
        self.records = records
        now = self.clock()
        if now - self._shown_at >= self.every or (self.tty and self.done == self.total):
            self._shown_at = now
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = self.records / elapsed
        text = f"{self.done:,}/{self.total:,} {self.unit}, {self.records:,} records, "
        text += f"{rate:,.0f} records/s"
        if 0 < self.done < self.total:
            text += f", ETA {_duration(elapsed / self.done * (self.total - self.done))}"
        return text

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, now: float) -> None:
        if self.tty:
            self.stream.write(f"\r{self.line(now)}\033[K")
            self._drawn = True
        else:
            self.stream.write(f"progress: {self.line(now)}\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
