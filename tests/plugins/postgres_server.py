"""A real PostgreSQL server (Debian's ``postgresql`` package) on 127.0.0.1, one per session.

Why a real server: what the shared state promises (claims atomic across instances, migrations
under an advisory lock, a connection lost mid-checkpoint) is exactly what a fake would get
right by construction. The session runs ``initdb`` and ``pg_ctl`` in a fresh temp dir with its
own port and socket dir, with password (SCRAM) authentication so the monitor's password
handling is exercised. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` user the package creates. Each test gets its own database (:meth:`database`).

A missing ``postgresql`` package skips locally and fails in CI (``CI=true``); a server that
fails to start fails the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.moto_server import free_port
from plugins.processes import require_binary

USER = "monitor"
PASSWORD = "s3cret-for-tests"
START_TIMEOUT_S = 60


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server program (they live outside PATH on Debian)."""
    return require_binary(name, (f"/usr/lib/postgresql/*/bin/{name}",), "postgresql")


class PostgresServer:
    """One server in ``folder``; stoppable and startable again with its data (outage tests)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.log = folder / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # the server refuses root: run it as the package's user
            shutil.chown(folder, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "postgres", password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, *args],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
            check=False,
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(f"{args[0]} failed ({done.returncode}): {done.stderr}\n{tail}")

    def init(self) -> None:
        pwfile = self.folder / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            pg_bin("initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(START_TIMEOUT_S), "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as in a database failover."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def ensure_running(self) -> None:
        if not self.running():
            self.start()

    def database(self) -> str:
        """A new, empty database; its URL (with the password)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pg_bin("initdb")
    # Not pytest's temp dir: that one is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="role-monitor-pg-"))
    server = PostgresServer(folder)
    server.init()
    server.start()
    try:
        yield server
    finally:
        if server.running():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database of the session's server, for one test."""
    server = postgres_server
    server.ensure_running()  # an outage test that failed half-way may have left it stopped
    return server.database()
