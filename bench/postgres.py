"""PostgreSQL state rows of ``make bench``: one instance against SQLite, and a group of two.

The server is Debian's ``postgresql`` (``initdb``/``pg_ctl`` in a temp dir, loopback, default
durability: fsync and synchronous commit on, as an operator runs it), as the postgres user
when run as root. Each instance reads the same 10 % mix topic with a fresh group and a fresh
database, timed like the SQLite run (assignment → committed offsets at the end).

``python -m bench.postgres --records N`` runs these rows alone (with the SQLite run beside
them) and prints them without appending to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from bench import monitor_proc, report
from bench.kafka_io import Offsets, Timed
from bench.report import Row, rate

TARGET_ONE = 0.7
ONE = "kafka, 10 % mix, PostgreSQL state, 1 instance (vs. SQLite)"
TWO = "kafka, 10 % mix, PostgreSQL state, 2 instances combined (vs. SQLite, 1 instance)"
COST = "CPU per instance, 2 instances (vs. 1 instance with SQLite)"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"{name} not found: run scripts/install-system-deps (postgresql)")
    return found[-1]


@contextmanager
def server() -> Iterator[str]:
    """A fresh PostgreSQL on loopback; yields its base URL (trust auth, stopped afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="role-monitor-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = str(folder / "data")

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    pg(_bin("initdb"), "-D", data, "-U", "bench", "--auth=trust", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    pg(_bin("pg_ctl"), "-D", data, "-l", str(folder / "log"), "-o", options, "-w", "start")
    try:
        yield f"postgresql://bench@127.0.0.1:{port}"
    finally:
        pg(_bin("pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database(base: str) -> str:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def _config(work: Path, name: str, inventory: list[Path], bootstrap: str, topic: str, url: str):
    config, group = monitor_proc.write_config(work, name, inventory, bootstrap, topic)
    document = yaml.safe_load(config.read_text())
    document["state"] = {"url": url}
    config.write_text(yaml.safe_dump(document))
    return config, group


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _group_run(configs: list[Path], group: str, topic: str, total: int, offsets: Offsets, work):
    """Several instances of one group to the end; (timed, CPU seconds per instance)."""
    monitors = [
        monitor_proc.RunningMonitor(config, work, f"pg-group-{i}")
        for i, config in enumerate(configs)
    ]
    try:
        for monitor in monitors:
            monitor.wait_assigned()
        started = min(monitor.assigned_at for monitor in monitors)
        while offsets.committed(group, topic) < total:
            for monitor in monitors:
                if monitor.process.poll() is not None:
                    raise RuntimeError(f"role-monitor run exited early; see {monitor.log_path}")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        cpu = [_cpu_seconds(monitor.process.pid) for monitor in monitors]
    finally:
        for monitor in monitors:
            monitor.stop()
    return Timed(total, seconds), cpu


def rows(
    bootstrap: str,
    topic: str,
    total: int,
    offsets: Offsets,
    work: Path,
    inventory: list[Path],
    sqlite: Timed,
    sqlite_cpu: float | None = None,
) -> list[Row]:
    with server() as base:
        config, group = _config(work, "pg-1", inventory, bootstrap, topic, _database(base))
        one = monitor_proc.run_to_end(config, group, topic, total, offsets, work, "pg-1")
        url = _database(base)
        first, group = _config(work, "pg-2a", inventory, bootstrap, topic, url)
        second = work / "config-pg-2b.yaml"
        document = yaml.safe_load(first.read_text())
        document["alerts"]["jsonl"]["path"] = str(work / "findings-pg-2b.jsonl")
        second.write_text(yaml.safe_dump(document))
        two, cpu = _group_run([first, second], group, topic, total, offsets, work)
    ratio_one = one.timed.rate / sqlite.rate if sqlite.rate else 0.0
    out = [
        Row(
            ONE,
            rate(one.timed.rate),
            rate(sqlite.rate),
            f"{ratio_one:.2f}",
            f">= {TARGET_ONE} x SQLite",
            ratio_one >= TARGET_ONE,
        ),
        Row(TWO, rate(two.rate), rate(sqlite.rate), f"{two.rate / sqlite.rate:.2f}", "(context)"),
    ]
    per = ", ".join(f"{seconds:.0f} s" for seconds in cpu)
    base_cpu = f"{sqlite_cpu:.0f} s" if sqlite_cpu is not None else "-"
    out.append(Row(COST, per, base_cpu, "", "(context)"))
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import load
    from bench.generate import StreamSpec, write_inventory
    from bench.kafka_io import broker, create_topic

    parser = argparse.ArgumentParser(prog="python -m bench.postgres")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--principals", type=int, default=20_000)
    args = parser.parse_args(argv)
    spec = StreamSpec(records=args.records, sts_share=0.10, principals=args.principals, roles=2000)
    work = Path(tempfile.mkdtemp(prefix="role-monitor-bench-"))
    try:
        inventory = write_inventory(spec, work / "org")
        with broker(work) as bootstrap:
            topic = create_topic(bootstrap, f"bench-pg-{uuid.uuid4().hex[:8]}")
            total, _, _ = load(bootstrap, topic, spec, None)
            offsets = Offsets(bootstrap)
            try:
                config, group = monitor_proc.write_config(work, "sq", inventory, bootstrap, topic)
                sqlite = monitor_proc.run_to_end(config, group, topic, total, offsets, work, "sq")
                table = rows(bootstrap, topic, total, offsets, work, inventory, sqlite.timed)
            finally:
                offsets.close()
        title = f"{report.stamp()}: PostgreSQL state, {total:,} records (10 % STS)"
        notes = [f"machine: {report.machine()}", "bench wall time: -"]
        print(report.table(title, notes, table))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
