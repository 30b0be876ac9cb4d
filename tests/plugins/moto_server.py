"""A real moto server (``moto_server`` from the venv) on 127.0.0.1, one per test session.

Why server mode and not ``mock_aws``: the monitor must be exercised over real HTTP through
``endpoint_url``, with real botocore retries, timeouts and credential handling; in-process
patching would bypass exactly the code that breaks in production. A server that cannot start
fails the tests, never skips them.

Each test module should isolate itself with distinct account ids (moto keys every resource by
account) or call :func:`reset_moto` first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugins.processes import stop

START_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable() -> str:
    candidate = Path(sys.executable).parent / "moto_server"
    if not candidate.exists():
        pytest.fail(f"moto_server not found next to {sys.executable}: install moto[server]")
    return str(candidate)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            pytest.fail(f"moto_server exited with {process.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"moto_server did not answer on {url} within {START_TIMEOUT_S:.0f} s")


def reset_moto(url: str) -> None:
    """Forget every resource in every account (moto's reset API)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL (``http://127.0.0.1:<port>``) of a moto server for this session.

    Its request log goes to a file: a pipe nobody reads would fill up and stall the server.
    """
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    # MOTO_ACCOUNT_ID would pin every request to one account and defeat assumed-role sessions.
    env = {key: value for key, value in os.environ.items() if not key.startswith("MOTO_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [_executable(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        stop(process)
