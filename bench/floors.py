"""The replay floor: what reading the same files costs in Python before any monitoring."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import orjson

from bench.kafka_io import Timed


def lines_floor(path: Path) -> Timed:
    """Read and orjson-parse every line of a JSON-lines file, touching every record."""
    started = time.perf_counter()
    count = 0
    for line in path.read_bytes().splitlines():
        if line.strip():
            count += 1 if orjson.loads(line).get("eventName") else 0
    return Timed(count, time.perf_counter() - started)


def replay_floor(logs: Path) -> Timed:
    """Read, gunzip and JSON-parse every log file, touching every record (orjson)."""
    started = time.perf_counter()
    count = 0
    for path in sorted(logs.rglob("*.json.gz")):
        document = orjson.loads(gzip.decompress(path.read_bytes()))
        for record in document["Records"]:
            count += 1 if record.get("eventName") else 0
    return Timed(count, time.perf_counter() - started)
