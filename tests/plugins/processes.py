"""Helpers for tests that start real programs: finding them, and stopping them."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Sequence

import pytest


def require_binary(
    name: str,
    globs: Sequence[str] = (),
    packages: str = "prometheus prometheus-alertmanager docker-compose",
) -> str:
    """Path of a system program the tests need; missing: fail in CI, skip elsewhere.

    ``globs`` are searched before PATH (the newest match wins): Debian keeps some server
    programs outside it, such as PostgreSQL's in ``/usr/lib/postgresql/<version>/bin``.
    In CI (``CI=true``) a missing component must fail the run: coverage must not silently vanish.
    """
    found = sorted(path for pattern in globs for path in glob.glob(pattern))
    path = found[-1] if found else shutil.which(name)
    if path:
        return path
    message = (
        f"{name} not found: `make test` installs it as root (scripts/install-system-deps), "
        f"or run: sudo apt-get install {packages}"
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
