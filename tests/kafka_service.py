"""Running ``role-monitor run`` as a real process against the test broker, and reading Kafka back.

Process-level behaviour (signals, kill -9, restarts) can only be tested on a process, so most
Kafka tests drive the installed ``role-monitor`` entry point. Each test gets its own consumer
group, dead-letter topic, state file and JSON-lines file (see :class:`Setup`).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_stream import ORG_ACCOUNT, Message, finding_ids

REPO = Path(__file__).resolve().parents[1]
ROLE_MONITOR = REPO / ".venv" / "bin" / "role-monitor"


def send(bootstrap: str, topic: str, messages: Iterable[Message]) -> int:
    """Produces every message and waits for every acknowledgement; returns how many."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [producer.send(topic, key=m.key, value=m.value) for m in messages]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()
    return len(futures)


def read_topic(bootstrap: str, topic: str, idle_ms: int = 1500) -> list[Any]:
    """Every record of ``topic`` from the beginning (no group, no commits)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def offsets(bootstrap: str, topic: str, group: str) -> tuple[dict[int, int], dict[int, int]]:
    """The group's committed offset (0 when none) and the end offset of every partition."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        committed = {tp.partition: consumer.committed(tp) or 0 for tp in parts}
        end = {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
    return committed, end


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    step: float = 0.2,
    explain: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition``; on timeout, ``explain`` says what was still missing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    detail = f": {explain()}" if explain else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


@dataclass
class Setup:
    """One test's names and files: topic, group, dead-letter topic, state and sink paths."""

    bootstrap: str
    topic: str
    folder: Path
    group: str = field(default_factory=lambda: f"rm-{uuid.uuid4().hex[:8]}")

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    @property
    def alerts_topic(self) -> str:
        return f"{self.topic}.alerts"

    def config(self, name: str = "a", **kafka: Any) -> Path:
        """A config file for one instance ``name`` (own state and findings files)."""
        extra_alerts = kafka.pop("alerts", {})
        metrics_port = kafka.pop("metrics_port", None)
        document = {
            "kafka": {
                "bootstrap_servers": self.bootstrap,
                "topics": [self.topic],
                "group_id": self.group,
                "dead_letter_topic": self.dead_letter_topic,
                "commit_interval": "0.3s",
                "commit_every": 50,
                **kafka,
            },
            "organization": {"accounts": [ORG_ACCOUNT]},
            "state": {"path": f"state-{name}.db"},
            "alerts": {
                "jsonl": {"path": f"findings-{name}.jsonl"},
                "retry_initial": "0.2s",
                "retry_max": "1s",
                **extra_alerts,
            },
            "metrics": {"port": metrics_port, "address": "127.0.0.1"},
            "log": {"level": "INFO"},
        }
        path = self.folder / f"config-{name}.yaml"
        path.write_text(yaml.safe_dump(document))
        return path

    def findings_file(self, name: str = "a") -> Path:
        return self.folder / f"findings-{name}.jsonl"

    def delivered(self, *names: str) -> list[str]:
        """Finding ids in the JSON-lines files of instances ``names`` (repeats kept)."""
        ids: list[str] = []
        for name in names or ("a",):
            path = self.findings_file(name)
            if path.exists():
                data = path.read_bytes()
                # Only whole lines: the monitor may be half-way through writing the last one.
                ids.extend(finding_ids(data[: data.rfind(b"\n") + 1].splitlines()))
        return ids

    def offsets(self) -> tuple[dict[int, int], dict[int, int]]:
        return offsets(self.bootstrap, self.topic, self.group)

    def all_committed(self) -> bool:
        committed, end = self.offsets()
        return committed == end


class Service:
    """``role-monitor run --config CONFIG`` as a child process, its logs in a file."""

    def __init__(
        self,
        config: Path,
        name: str = "a",
        preexec: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``preexec`` runs in the child before ``role-monitor`` (e.g. to set a resource limit);
        ``env`` adds environment variables (e.g. a crash point)."""
        self.log_path = config.parent / f"service-{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(ROLE_MONITOR), "run", "--config", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                preexec_fn=preexec,
            )

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample scraped from the instance's /metrics (None while not served or absent)."""
        import urllib.request

        from prometheus_client.parser import text_string_to_metric_families

        entries = self.logged("serving /metrics, /healthz, /readyz")
        if not entries:
            return None
        port = entries[0]["fields"]["port"]
        url = f"http://127.0.0.1:{port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                matches = all(sample.labels.get(k) == v for k, v in labels.items())
                if sample.name == name and matches:
                    return float(sample.value)
        return None

    def logs(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                entries.append({"message": line, "level": "RAW"})
        return entries

    def logged(self, message: str) -> list[dict[str, Any]]:
        return [entry for entry in self.logs() if entry.get("message") == message]

    def wait_assigned(self, timeout: float = 30.0) -> None:
        """Until the instance logged a non-empty partition assignment."""

        def assigned() -> bool:
            self.check_alive()
            entries = self.logged("partitions assigned")
            return any(entry["fields"]["partitions"] for entry in entries)

        wait_until(assigned, timeout, f"an assignment (log {self.log_path})", explain=self.tail)

    def tail(self, lines: int = 12) -> str:
        """The last lines of the instance's log, for a timeout's message."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n" + "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"role-monitor exited with {code}:\n{tail}")

    def stop(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM; returns the exit status and the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"role-monitor ignored SIGTERM for {timeout}s") from None
        return code, time.monotonic() - started

    def kill(self) -> None:
        """kill -9: no shutdown code runs at all."""
        self.process.kill()
        self.process.wait()

    def ensure_stopped(self) -> None:
        if self.process.poll() is None:
            self.kill()


def owed(state: Path, sink: str) -> int:
    """Findings still owed to ``sink`` in an SQLite state's outbox."""
    with closing(sqlite3.connect(state)) as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE sink = ?", (sink,)).fetchone()[0])
