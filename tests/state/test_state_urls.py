"""State URLs are validated, and no message shows their password (issue 21, point 5).

Before: a libpq ``key=value`` ``state.url`` became an SQLite file with the password in its
name and ``config check`` said nothing; ``replay --state postgresq://…`` printed the password
in a "no such folder" error; ``?bogusoption=1`` was a psycopg traceback and exit 1. Each case
runs the real CLI against the real PostgreSQL fixture.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO
from plugins.postgres_server import PASSWORD

EXAMPLES = REPO / "examples"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ROLE_MONITOR_")}
    environment.update(env or {})
    command = [sys.executable, "-m", "monitor.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=REPO, env=environment
    )


def one_line_error(done: subprocess.CompletedProcess[str], key: str) -> str:
    assert done.returncode == 2, done.stderr
    assert PASSWORD not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("role-monitor: error: "), done.stderr
    assert key in lines[0]
    return lines[0]


def test_a_libpq_key_value_state_url_is_refused_naming_the_key(postgres_url: str) -> None:
    conninfo = f"host=127.0.0.1 user=monitor password={PASSWORD} dbname=postgres"
    done = cli("config", "check", env={"ROLE_MONITOR_STATE__URL": conninfo})
    assert "key=value" in one_line_error(done, "state.url")


def test_config_check_shows_the_state_url_with_its_password_masked(postgres_url: str) -> None:
    done = cli("config", "check", env={"ROLE_MONITOR_STATE__URL": postgres_url})
    shown = [line for line in done.stdout.splitlines() if line.startswith("state.url")]
    assert PASSWORD not in done.stdout + done.stderr
    masked = postgres_url.replace(PASSWORD, "***")
    assert len(shown) == 1 and f'"{masked}"' in shown[0], shown


@pytest.mark.parametrize("scheme", ["postgresq", "mysql", "sqlite"])
def test_a_mistyped_scheme_in_replay_state_never_prints_the_password(
    postgres_url: str, scheme: str
) -> None:
    wrong = postgres_url.replace("postgresql", scheme, 1)
    done = cli("replay", "--state", wrong, str(EXAMPLES / "stream"))
    assert f"scheme {scheme}:" in one_line_error(done, "--state")


def test_an_unknown_option_is_one_line_not_a_traceback(postgres_url: str) -> None:
    done = cli("replay", "--state", postgres_url + "?bogusoption=1", str(EXAMPLES / "stream"))
    assert "bogusoption" in one_line_error(done, "state.url")


def test_the_real_url_still_works_and_paths_are_paths(postgres_url: str, tmp_path: Path) -> None:
    assert cli("replay", "--state", postgres_url, str(EXAMPLES / "stream")).returncode == 0
    file = tmp_path / "state with = sign.db"
    assert cli("replay", "--state", str(file), str(EXAMPLES / "stream")).returncode == 0
    assert file.exists()
