"""``python -m bench --quick`` end to end against the session's broker: the table is complete.

A smoke run only: it proves every measurement runs and reports, never how fast anything is
(no figure or target verdict is checked; the bench itself is ``make bench``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugins.kafka_broker import KafkaBroker
from plugins.postgres_server import pg_bin

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[1]

#: The table's rows (bench/report.py ROWS): a new measurement belongs here too.
ROWS = (
    "kafka, 10 % STS mix",
    "kafka, 100 % STS",
    "kafka, 10 % mix vs. floor without CRC check",
    "replay, gzip'd log files, --jobs 1",
    "replay, gzip'd log files, --jobs 2",
    "replay, JSON-lines day (22 % STS), --jobs 2",
    "per assumption in replay (--jobs 1, above the read floor)",
    "latency p50 (produce → finding)",
    "latency p99 (produce → finding)",
    "peak RSS, monitor run",
    "kafka, 10 % mix, PostgreSQL state, 1 instance (vs. SQLite)",
    "kafka, 10 % mix, PostgreSQL state, 2 instances combined (vs. SQLite, 1 instance)",
    "CPU per instance, 2 instances (vs. 1 instance with SQLite)",
    "CPU per assumption, ordinary noise workload (learn --jobs 1)",
    "CPU per assumption, growing noise workload (learn --jobs 1)",
    "learn, growing noise workload, --jobs 2 (wall)",
    "CPU per assumption in the stateful process, growing, --jobs 2",
)


def test_quick_bench_prints_and_appends_every_row(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    pg_bin("initdb")  # the PostgreSQL rows start a server: missing fails in CI, else skips
    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(results)],
        cwd=REPO,
        env={**os.environ, "KAFKA_BOOTSTRAP": kafka_broker.bootstrap},
        capture_output=True,
        text=True,
        # A hang guard, not a speed check: a quick run takes ~20 s on a quiet machine, ~4 min
        # at load 12 on 2 cores (~1 min of it the noise workloads' learn rows).
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    labels = [line.split("|")[1].strip() for line in table[1:]]
    assert labels == list(ROWS)
    for line in table[1:]:
        monitor = line.split("|")[2].strip()
        assert monitor and "nan" not in monitor, line
    assert "machine:" in done.stdout and "kafka-python" in done.stdout
    appended = results.read_text()
    assert appended.startswith("# Benchmark results")
    assert all(f"| {label} |" in appended for label in ROWS)
