"""Drain time with eight scrapers vs none (issue 21, point 2): ``python -m bench.scrape_load``.

Why in-process: what scrapes take from the consumer is the interpreter (the GIL) and the core
it runs on, so the benchmark drains messages through ``Pipeline.process`` on the main thread,
as ``run``'s consumer thread does, while the real endpoint server (monitor/service/http.py)
answers eight scraper processes at nice 19 (the issue's setup) that loop on ``/metrics`` as fast
as they are answered. Printed: the drain with none, with eight, and again with none (the faster
"none" is the floor, so a noisy neighbour can only make the ratio look worse), their ratio
(target at most 1.5), and the scrapes answered. Not a timed test: figures for a person.

Run it on another checkout (``PYTHONPATH=/path/to/checkout python bench/scrape_load.py``) to
compare servers side by side on the same machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson

if __package__ in (None, ""):  # run as a file: the checkout on PYTHONPATH provides monitor
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from bench.generate import Generator, StreamSpec
from monitor.config.settings import Settings
from monitor.service.app import build_monitor
from monitor.service.http import serve

SCRAPER = """
import os, signal, sys, urllib.request
os.nice(19)
url, count = sys.argv[1], 0
def done(*_):
    print(count, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        count += 1
    except OSError:
        pass
"""


def messages(count: int, sts_share: float) -> list[bytes]:
    spec = StreamSpec(records=count, sts_share=sts_share, principals=2_000, roles=200)
    return [orjson.dumps(record) for record in Generator(spec).records()][:count]


def drain(batch: list[bytes], scrapers: int) -> tuple[float, int]:
    """Seconds to process ``batch`` with ``scrapers`` scraping, and the scrapes answered."""
    monitor = build_monitor(Settings(), state_path=":memory:")
    server = serve(monitor.metrics, "127.0.0.1", 0, lambda: True)
    url = f"http://127.0.0.1:{server.port}/metrics"
    children = [
        subprocess.Popen([sys.executable, "-c", SCRAPER, url], stdout=subprocess.PIPE, text=True)
        for _ in range(scrapers)
    ]
    answered = 0
    try:
        if children:
            time.sleep(1.0)  # let the scrapers reach their pace before the clock starts
        started = time.perf_counter()
        for message in batch:
            monitor.pipeline.process(message)
        took = time.perf_counter() - started
        for child in children:
            child.terminate()
            out, _ = child.communicate(timeout=30)
            answered += int(out.strip() or 0)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        server.close()
        monitor.close()
    return took, answered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=22_500)
    parser.add_argument("--sts-share", type=float, default=0.5)
    parser.add_argument("--scrapers", type=int, default=8)
    args = parser.parse_args(argv)
    batch = messages(args.messages, args.sts_share)
    none_first, _ = drain(batch, 0)
    loaded, answered = drain(batch, args.scrapers)
    none_again, _ = drain(batch, 0)
    floor = min(none_first, none_again)
    print(f"messages            {len(batch):>10,}")
    print(f"drain, no scrapers  {none_first:>9.2f}s {none_again:>9.2f}s")
    print(f"drain, {args.scrapers} scrapers   {loaded:>9.2f}s  ({answered:,} scrapes answered)")
    print(f"ratio               {loaded / floor:>9.2f}x  (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
