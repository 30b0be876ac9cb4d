"""Progress of replay / learn / produce: a redrawn line on a terminal, a log line otherwise."""

from __future__ import annotations

import io

from monitor.service.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_line_every_period_when_not_a_terminal() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress(10, out, every=30.0, clock=clock)
    clock.now += 10
    progress.advance(1_000)
    assert out.getvalue() == ""  # not yet: one line per period, not per file
    clock.now += 20
    progress.advance(3_000)
    assert out.getvalue() == "progress: 2/10 files, 3,000 records, 100 records/s, ETA 2m00s\n"
    progress.close()
    assert out.getvalue().count("\n") == 1


def test_a_redrawn_line_with_rate_and_eta_on_a_terminal() -> None:
    clock, out = Clock(), Terminal()
    progress = Progress(4, out, clock=clock)
    for done in range(1, 5):
        clock.now += 1
        progress.advance(done * 500)
    progress.close()
    text = out.getvalue()
    assert text.startswith("\r1/4 files, 500 records, 500 records/s, ETA 3s")
    assert "\r4/4 files, 2,000 records, 500 records/s" in text and text.endswith("\n")
