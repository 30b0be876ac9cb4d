"""``role-monitor run`` and ``role-monitor replay`` as child processes, timed from outside.

The monitor is measured as an operator runs it: the installed entry point, a config file, its
own process (so its peak RSS is its own). Throughput of ``run`` is timed from the moment it
logs its partition assignment to the moment the group's committed offsets reach the topic's
end offsets (polled every 50 ms), so startup and the group join are not counted; the floor is
timed the same way, from its first poll.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from bench.generate import ORG, VENDOR
from bench.kafka_io import Offsets, Timed

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ROLE_MONITOR = str(VENV_BIN / "role-monitor") if (VENV_BIN / "role-monitor").exists() else None

#: The bench's Kafka knobs (fair configuration, documented in the table): a checkpoint at least
#: every 100 ms keeps produce→delivery latency low; ``commit_every`` bounds a checkpoint's size
#: at high throughput; bigger polls cost nothing in latency and save per-poll overhead.
KAFKA_TUNING: dict[str, Any] = {
    "commit_interval": "0.1s",
    "commit_every": 5000,
    "max_poll_records": 2000,
}


def command(*args: str) -> list[str]:
    if ROLE_MONITOR:
        return [ROLE_MONITOR, *args]
    return [sys.executable, "-m", "monitor.cli", *args]


def write_config(
    folder: Path,
    name: str,
    inventory: list[Path],
    bootstrap: str | None = None,
    topic: str | None = None,
) -> tuple[Path, str]:
    """A config for one monitor instance ``name``; returns it and its consumer group."""
    group = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    document: dict[str, Any] = {
        "organization": {"accounts": list(ORG)},
        "inventory": {"authorization_details": [str(path) for path in inventory]},
        "trusted_external_accounts": [VENDOR],
        "federation": {
            "allowed_providers": ["AWSSSO_*", "token.actions.githubusercontent.com"],
            "allowed_subjects": {"token.actions.githubusercontent.com": ["repo:acme/*"]},
        },
        "state": {"path": str(folder / f"state-{name}.db")},
        "alerts": {"jsonl": {"path": str(folder / f"findings-{name}.jsonl")}},
        "metrics": {"port": None},
        "log": {"level": "INFO", "format": "json"},
    }
    if bootstrap is not None:
        document["kafka"] = {
            "bootstrap_servers": bootstrap,
            "topics": [topic],
            "group_id": group,
            "dead_letter_topic": f"{topic}.dlq",
            **KAFKA_TUNING,
        }
    path = folder / f"config-{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path, group


@dataclass(frozen=True)
class RunResult:
    timed: Timed
    peak_rss_mb: float
    findings: int


class RunningMonitor:
    """``role-monitor run`` in the background; knows when it was assigned its partitions."""

    def __init__(self, config: Path, folder: Path, name: str) -> None:
        self.assigned = threading.Event()
        self.assigned_at = 0.0
        self.log_path = folder / f"run-{name}.log"
        self.findings_path = folder / f"findings-{name}.jsonl"
        self.process = subprocess.Popen(
            command("run", "--config", str(config)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        with self.log_path.open("wb") as log:
            for line in self.process.stderr:
                log.write(line)
                if not self.assigned.is_set() and _assigned_some(line):
                    self.assigned_at = time.perf_counter()
                    self.assigned.set()

    def wait_assigned(self, timeout: float = 60.0) -> None:
        if not self.assigned.wait(timeout):
            self.stop()
            raise RuntimeError(f"role-monitor run was not assigned partitions; see {self.log_path}")

    def peak_rss_mb(self) -> float:
        """``VmHWM``: the process's resident high-water mark so far."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(timeout=5)
        return code

    def findings(self) -> list[dict[str, Any]]:
        if not self.findings_path.exists():
            return []
        return [orjson.loads(line) for line in self.findings_path.read_bytes().splitlines()]


def run_to_end(
    config: Path, group: str, topic: str, total: int, offsets: Offsets, folder: Path, name: str
) -> RunResult:
    """Consume ``topic`` (``total`` records) with a fresh group until everything is committed."""
    monitor = RunningMonitor(config, folder, name)
    try:
        monitor.wait_assigned()
        while True:
            if monitor.process.poll() is not None:
                raise RuntimeError(f"role-monitor run exited early; see {monitor.log_path}")
            if offsets.committed(group, topic) >= total:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - monitor.assigned_at
        peak = monitor.peak_rss_mb()
    finally:
        code = monitor.stop()
    if code != 0:
        raise RuntimeError(f"role-monitor run exited with {code}; see {monitor.log_path}")
    return RunResult(Timed(total, seconds), peak, len(monitor.findings()))


@dataclass(frozen=True)
class ReplayResult:
    timed: Timed
    findings: int
    summary: str
    output: Path


def replay(
    config: Path, logs: Path, records: int, folder: Path, jobs: int = 1, name: str = "replay"
) -> ReplayResult:
    """``role-monitor replay --jobs N`` over ``logs``; wall time of the whole process."""
    out = folder / f"{name}-findings-{jobs}.jsonl"
    started = time.perf_counter()
    with out.open("wb") as findings:
        done = subprocess.run(
            command("replay", "--jobs", str(jobs), "--config", str(config), str(logs)),
            stdout=findings,
            stderr=subprocess.PIPE,
            check=False,
        )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"role-monitor replay failed:\n{done.stderr.decode()[-2000:]}")
    count = sum(1 for _ in out.open("rb"))
    return ReplayResult(Timed(records, seconds), count, done.stderr.decode().strip(), out)


def assumptions(summary: str) -> int:
    """Assumptions processed, from replay's closing summary
    (``in-scope events processed: N (assumption A, ...)``)."""
    for line in summary.splitlines():
        if "events processed:" in line:
            found = re.search(r"assumption (\d+)", line)
            return int(found[1]) if found else 0
    return 0


def _assigned_some(line: bytes) -> bool:
    """A log line of a non-empty assignment: a group member first logs an empty one while the
    group still forms, and timing from it would count the rebalance as processing."""
    return b"partitions assigned" in line and b'"partitions":[]' not in line
