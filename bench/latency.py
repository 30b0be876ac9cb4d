"""Produce → delivery latency of break-glass findings at a steady offered load.

A paced producer (``linger_ms=0``) sends the realistic mix at ``rate`` records/s with a
break-glass assumption injected every ``break_glass_every`` STS records; a tail of the
monitor's JSON-lines sink notes when each finding's line appears. Both clocks are this
process's ``perf_counter``, so the figure is what an operator would see: from ``send()`` to the
finding in the sink file (fsync'd at the checkpoint), including Kafka's fetch wait, the
pipeline and the checkpoint interval.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.generate import Generator, StreamSpec
from bench.kafka_io import producer
from bench.monitor_proc import RunningMonitor, write_config

BREAK_GLASS_ROLE = "BreakGlassAdmin"


class Tail:
    """Follows a JSON-lines file and notes when each ``event_id`` first appears."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self.path.exists():
            if self._stop.wait(0.002):
                return
        with self.path.open("rb") as source:
            pending = b""
            while not self._stop.is_set():
                chunk = source.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                now = time.perf_counter()
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line:
                        self.seen.setdefault(orjson.loads(line)["event_id"], now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class LatencyResult:
    #: Offered load actually achieved (records/s) over ``seconds``.
    rate: float
    seconds: float
    injected: int
    delivered: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def measure(
    bootstrap: str,
    topic: str,
    folder: Path,
    inventory: list[Path],
    spec: StreamSpec,
    rate: int,
    seconds: float,
) -> LatencyResult:
    config, _ = write_config(folder, "latency", inventory, bootstrap, topic)
    monitor = RunningMonitor(config, folder, "latency")
    tail: Tail | None = None
    try:
        monitor.wait_assigned()
        time.sleep(1.0)  # let the first (empty) fetch settle
        tail = Tail(monitor.findings_path)
        sent_at, total, elapsed = _produce(bootstrap, topic, spec, rate, seconds)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and not set(sent_at) <= set(tail.seen):
            time.sleep(0.05)
    finally:
        if tail is not None:
            tail.close()
        monitor.stop()
    assert tail is not None
    delays = [(tail.seen[eid] - at) * 1000 for eid, at in sent_at.items() if eid in tail.seen]
    return LatencyResult(
        rate=total / elapsed,
        seconds=elapsed,
        injected=len(sent_at),
        delivered=len(delays),
        p50_ms=percentile(delays, 0.50),
        p99_ms=percentile(delays, 0.99),
        max_ms=max(delays, default=math.nan),
    )


def _produce(
    bootstrap: str, topic: str, spec: StreamSpec, rate: int, seconds: float
) -> tuple[dict[str, float], int, float]:
    """Sends ``rate * seconds`` records on schedule; the send time of each break-glass record."""
    client = producer(bootstrap, linger_ms=0, client_id="bench-latency")
    records = Generator(spec).records()
    sent_at: dict[str, float] = {}
    total = int(rate * seconds)
    started = time.perf_counter()
    try:
        for index in range(total):
            record = next(records)
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            value = orjson.dumps(record)
            key = str(record.get("sharedEventID") or record["eventID"]).encode()
            role = (record.get("requestParameters") or {}).get("roleArn", "")
            if role.endswith(BREAK_GLASS_ROLE) and not record.get("errorCode"):
                sent_at[record["eventID"]] = time.perf_counter()
            client.send(topic, key=key, value=value)
        client.flush(timeout=30)
    finally:
        client.close(timeout=10)
    return sent_at, total, time.perf_counter() - started
