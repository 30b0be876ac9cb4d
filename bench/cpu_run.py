"""``python -m bench.cpu_run ROLE-MONITOR-ARGS...``: one ``role-monitor`` command, then its CPU.

Runs the command in this process and writes, as the last line of stderr, a JSON object with
the wall time, the CPU seconds (user + system) of this process (the stateful pipeline) and of
its reading workers (``--jobs``), which ``time`` or ``wait4`` would only give summed, and this
process's peak RSS.
"""

from __future__ import annotations

import resource
import sys
import time

import orjson

#: What the last stderr line starts with.
MARK = "cpu_run "


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    from monitor.cli import main as role_monitor

    started = time.perf_counter()
    code = role_monitor(argv if argv is not None else sys.argv[1:])
    figures = {
        "wall": time.perf_counter() - started,
        "main_cpu": cpu(resource.RUSAGE_SELF),
        "workers_cpu": cpu(resource.RUSAGE_CHILDREN),
        "main_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    sys.stderr.write(MARK + orjson.dumps(figures).decode() + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
