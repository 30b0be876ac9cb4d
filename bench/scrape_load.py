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
import yaml

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


def drain_run(
    config: Path, bootstrap: str, group: str, topic: str, total: int, scrapers: int
) -> tuple[float, int]:
    """``role-monitor run`` from its assignment until ``total`` records are committed, with
    ``scrapers`` scraping its /metrics (the issue's own measurement)."""
    from bench.kafka_io import Offsets
    from bench.monitor_proc import RunningMonitor

    port = _free_port()
    document = yaml.safe_load(config.read_text())
    document["metrics"] = {"port": port, "address": "127.0.0.1"}
    document["kafka"]["group_id"] = group
    document["state"] = {"path": str(config.parent / f"state-{group}.db")}  # fresh each drain
    config.write_text(yaml.safe_dump(document))
    offsets = Offsets(bootstrap)
    monitor = RunningMonitor(config, config.parent, group)
    children: list[subprocess.Popen[str]] = []
    answered = 0
    try:
        monitor.wait_assigned()
        url = f"http://127.0.0.1:{port}/metrics"
        children = [_scraper(url) for _ in range(scrapers)]
        while offsets.committed(group, topic) < total:
            if monitor.process.poll() is not None:
                raise RuntimeError(f"role-monitor run exited early; see {monitor.log_path}")
            time.sleep(0.05)
        took = time.perf_counter() - monitor.assigned_at
        answered = _stop_scrapers(children)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        monitor.stop()
        offsets.close()
    return took, answered


def kafka_main(count: int, sts_share: float, scrapers: int, repeat: int) -> None:
    """The drain of ``role-monitor run`` from a broker of its own (``--kafka``)."""
    import tempfile
    import uuid

    from bench.generate import write_inventory
    from bench.kafka_io import Loader, broker, create_topic
    from bench.monitor_proc import write_config

    spec = StreamSpec(records=count, sts_share=sts_share, principals=2_000, roles=200)
    folder = Path(tempfile.mkdtemp(prefix="scrape-load-"))
    with broker(folder) as bootstrap:
        topic = create_topic(bootstrap, f"scrape-{uuid.uuid4().hex[:8]}")
        loader = Loader(bootstrap, topic)
        for value in messages(count, sts_share):
            loader.send(None, value)
        loader.close()
        inventory = write_inventory(spec, folder / "inventory")
        config, _ = write_config(folder, "scrape", inventory, bootstrap, topic)
        none: list[float] = []
        loaded: list[tuple[float, int]] = []
        for n in range(2 * repeat + 1):  # none, eight, none, ... none: alternated on purpose
            group = f"scrape-{n}-{uuid.uuid4().hex[:6]}"
            load = scrapers if n % 2 else 0
            took, answered = drain_run(config, bootstrap, group, topic, loader.sent, load)
            (loaded.append((took, answered)) if load else none.append(took))
    print(f"no scrapers: {', '.join(f'{t:.2f}s' for t in none)}")
    print(f"{scrapers} scrapers:  {', '.join(f'{t:.2f}s ({a} scrapes)' for t, a in loaded)}")
    middle = sorted(loaded)[len(loaded) // 2][0]
    baseline = sorted(none)[len(none) // 2]
    print(f"ratio of medians    {middle / baseline:>9.2f}x  (target <= 1.5x)")


def _report(
    total: int, none_first: float, none_again: float, loaded: float, answered: int, scrapers: int
) -> None:
    floor = min(none_first, none_again)
    print(f"messages            {total:>10,}")
    print(f"drain, no scrapers  {none_first:>9.2f}s {none_again:>9.2f}s")
    print(f"drain, {scrapers} scrapers   {loaded:>9.2f}s  ({answered:,} scrapes answered)")
    print(f"ratio               {loaded / floor:>9.2f}x  (target <= 1.5x)")


def _scraper(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SCRAPER, url], stdout=subprocess.PIPE, text=True)


def _stop_scrapers(children: list[subprocess.Popen[str]]) -> int:
    answered = 0
    for child in children:
        child.terminate()
        out, _ = child.communicate(timeout=30)
        answered += int(out.strip() or 0)
    return answered


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=22_500)
    parser.add_argument("--sts-share", type=float, default=0.5)
    parser.add_argument("--scrapers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="loaded drains (--kafka)")
    parser.add_argument(
        "--kafka", action="store_true", help="drain role-monitor run from a broker of its own"
    )
    args = parser.parse_args(argv)
    if args.kafka:
        kafka_main(args.messages, args.sts_share, args.scrapers, args.repeat)
        return 0
    batch = messages(args.messages, args.sts_share)
    none_first, _ = drain(batch, 0)
    loaded, answered = drain(batch, args.scrapers)
    none_again, _ = drain(batch, 0)
    _report(len(batch), none_first, none_again, loaded, answered, args.scrapers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
