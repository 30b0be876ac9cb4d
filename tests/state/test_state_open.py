"""State trouble is a one-line message and exit 2, not a traceback (issue 12, point 8).

``role-monitor run`` opens the state before it connects to Kafka, so these need no broker: the
process must stop at once with one line naming the file.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from helpers import REPO
from plugins.processes import require_binary

from monitor.metrics import Metrics
from monitor.state.open import open_state
from monitor.state.store import StateStore

ROLE_MONITOR = REPO / ".venv" / "bin" / "role-monitor"


def run_with(state: str, folder: Path, **extra: object) -> subprocess.CompletedProcess[str]:
    config = folder / "config.yaml"
    document = {
        "kafka": {"bootstrap_servers": "127.0.0.1:1"},
        "state": {"path": state},
        "metrics": {"port": None},
        **extra,
    }
    config.write_text(yaml.safe_dump(document))
    return subprocess.run(
        [str(ROLE_MONITOR), "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` not writable, for root too (which ignores permission bits): immutable."""
    path.chmod(0o444)
    if os.geteuid() != 0:
        yield
        return
    chattr = require_binary("chattr")
    subprocess.run([chattr, "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def used_state(path: Path) -> Path:
    """A state file with a few thousand rows, committed and closed."""
    store = StateStore(path)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    store.observation_start(at)
    for n in range(5000):
        store.see("pairs", f"key-{n:06d}-" + "x" * 60, at)
    store.commit()
    store.close()
    return path


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], *words: str) -> None:
    # The JSON log lines (the startup line) aside, the error is one line of text.
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("{")]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_half_truncated_state(folder: Path) -> None:
    state = used_state(folder / "state.db")
    os.truncate(state, state.stat().st_size // 2)
    assert_one_line_exit_2(run_with(str(state), folder), str(state), "corrupt")


def test_zeroed_header(folder: Path) -> None:
    state = used_state(folder / "state.db")
    with state.open("r+b") as handle:
        handle.write(bytes(100))
    assert_one_line_exit_2(run_with(str(state), folder), str(state), "corrupt")


def test_read_only_state(folder: Path) -> None:
    state = used_state(folder / "state.db")
    with read_only(state):
        result = run_with(str(state), folder)
    assert_one_line_exit_2(result, str(state), "cannot be written")


def test_missing_folder_and_folder_that_is_a_file(folder: Path) -> None:
    missing = folder / "nowhere" / "state.db"
    assert_one_line_exit_2(run_with(str(missing), folder), str(missing), "does not exist")
    regular = folder / "file"
    regular.write_text("x")
    under = regular / "state.db"
    assert_one_line_exit_2(run_with(str(under), folder), str(under), "not a folder")


def test_negative_metrics_port_is_a_config_error(folder: Path) -> None:
    result = run_with(str(folder / "state.db"), folder, metrics={"port": -5})
    assert_one_line_exit_2(result, "metrics.port")


def test_a_state_emptied_since_last_use_warns_and_sets_the_metric(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = folder / "state.db"
    open_state(state, Metrics()).close()  # a first start: nothing to warn about
    state.write_bytes(b"")  # the content is lost (restored from an empty backup, say)
    metrics = Metrics()
    with caplog.at_level(logging.WARNING):
        open_state(state, metrics).close()
    assert metrics.registry.get_sample_value("role_monitor_state_reset") == 1
    assert any("holds no state" in record.getMessage() for record in caplog.records)
    quiet = Metrics()
    open_state(state, quiet).close()  # used since: no warning any more
    assert quiet.registry.get_sample_value("role_monitor_state_reset") == 0
