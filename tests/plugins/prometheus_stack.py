"""Debian's ``prometheus`` and ``prometheus-alertmanager``, started per test on 127.0.0.1.

Each instance gets its own free port, temp config and storage, so tests never meet a system
service or each other. A missing binary fails in CI (``CI=true``: coverage must not silently
vanish) and skips elsewhere with what to install; a binary that does not become ready fails.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from plugins.processes import require_binary, stop

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@contextmanager
def running(args: list[str], ready_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``args``, wait until ``ready_url`` answers 200, stop it afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, ready_url, log)
        yield process
    finally:
        stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} not ready within {READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def alertmanager(workdir: Path) -> Iterator[str]:
    """A fresh Alertmanager (no clustering, a receiver that sends nothing); yields its URL."""
    binary = require_binary("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route: {receiver: 'null', group_wait: 1h}\nreceivers: [{name: 'null'}]\n",
        encoding="utf-8",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    with running(args, f"{url}/-/ready", workdir / "alertmanager.log"):
        yield url


@contextmanager
def prometheus(
    workdir: Path,
    target: str,
    interval: str = "1s",
    scrape: dict[str, Any] | None = None,
    extra_jobs: Sequence[dict[str, Any]] = (),
) -> Iterator[str]:
    """A fresh Prometheus scraping ``target`` (host:port) as job ``role-monitor``; ``scrape``
    adds settings to that job (scheme, tls_config, basic_auth), ``extra_jobs`` more jobs."""
    binary = require_binary("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": interval, "evaluation_interval": interval},
                "scrape_configs": [
                    {
                        "job_name": "role-monitor",
                        "static_configs": [{"targets": [target]}],
                        **(scrape or {}),
                    },
                    *extra_jobs,
                ],
            }
        ),
        encoding="utf-8",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with running(args, f"{url}/-/ready", workdir / "prometheus.log"):
        yield url


def instant_query(url: str, expr: str) -> list[dict[str, Any]]:
    """``GET /api/v1/query``; the result vector (fails the test on a query error)."""
    query = urllib.parse.urlencode({"query": expr})
    try:
        answer = get_json(f"{url}/api/v1/query?{query}")
    except urllib.error.HTTPError as exc:
        pytest.fail(f"query failed ({exc.code}): {exc.read().decode(errors='replace')}\n{expr}")
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result
