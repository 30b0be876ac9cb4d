"""``learn`` then ``replay --state`` equals one ``replay`` on a growing organisation (issue 19).

The history is the growing workload of ``bench/growing.py`` at a small size, ten days: an
account is vended on the eighth, the first day after the learning period (``CreateAccountResult``,
then ``CreateRole`` of its baseline: the scanner's, the hub's and the vendors' roles), and from
the next day the scanner, the Terraform hub and the vendors (with their ExternalId) reach it for
the first time. ``learn`` reads the first eight days, ``replay --state`` the last two: the roles
learned from the change records, and the organisation's new member, must survive the boundary,
judged from the state and not from the process that read them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from helpers import REPO, cli, ok

DAYS, LEARNED = 10, 8
SHAPE = f"Shape(accounts=12, days={DAYS}, joins_per_week=1.5, seed=5)"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("growing")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from bench import growing; "
            f"from bench.growing_org import Shape; growing.write(Path({str(folder)!r}), {SHAPE})",
        ],
        cwd=REPO,
        check=True,
        timeout=300,
    )
    return folder


def days_of(history: Path) -> list[Path]:
    return sorted((history / "stream").glob("*.jsonl"))


def names_in(paths: list[Path]) -> set[str]:
    return {orjson.loads(line)["eventName"] for p in paths for line in p.read_bytes().splitlines()}


def test_the_learned_days_change_the_catalog_and_the_membership(history: Path) -> None:
    days = days_of(history)
    assert len(days) == DAYS
    learned = names_in(days[:LEARNED])
    assert {"CreateAccountResult", "CreateRole", "CreateOpenIDConnectProvider"} <= learned
    accounts = orjson.loads((history / "accounts.json").read_bytes())["Accounts"]
    assert all(not a["Id"].startswith("32") for a in accounts), "the newcomer is not configured"


def test_learn_then_replay_gives_what_one_replay_gives(history: Path, tmp_path: Path) -> None:
    days, config = days_of(history), str(history / "config.yaml")
    whole = ok(cli("replay", "--config", config, *map(str, days))).stdout.splitlines()
    first_replayed = days[LEARNED].stem
    expected = [line for line in whole if orjson.loads(line)["event_time"][:10] >= first_replayed]
    state = str(tmp_path / "learned.db")
    ok(cli("learn", "--config", config, "--state", state, *map(str, days[:LEARNED])))
    after = ok(cli("replay", "--config", config, "--state", state, *map(str, days[LEARNED:])))
    assert after.stdout.splitlines() == expected

    # The state matters: the replayed days alone judge the newcomer's roles differently.
    fresh = ok(cli("replay", "--config", config, *map(str, days[LEARNED:]))).stdout
    assert fresh.splitlines() != expected
