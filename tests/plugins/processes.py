"""Helpers for tests that start real programs: finding them, and stopping them."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def require_binary(name: str) -> str:
    """Path of a system program the tests need; missing: fail in CI, skip elsewhere.

    In CI (``CI=true``) a missing component must fail the run: coverage must not silently vanish.
    """
    path = shutil.which(name)
    if path:
        return path
    message = (
        f"{name} not found: `make test` installs it as root (scripts/install-system-deps), "
        "or run: sudo apt-get install prometheus prometheus-alertmanager docker-compose"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
