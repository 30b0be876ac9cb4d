"""``python -m bench.noise`` on two days of the ordinary organisation: the report is complete.

A smoke run only: it proves the workload replays through the real pipeline and the report has
its tables; the figures and the budget are the benchmark's business (``make noise``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]


def test_two_days_replay_into_a_complete_report(tmp_path: Path) -> None:
    report = tmp_path / "NOISE.md"
    report.write_text(
        "old table\n<!-- kept: everything below this line survives "
        "`make noise` -->\nclosing note\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.noise",
            "--days",
            "2",
            "--out",
            str(report),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    text = report.read_text(encoding="utf-8")
    assert "| 2026-11-02 Mon | learning |" in text
    assert "| 2026-11-03 Tue | learning |" in text
    assert "## Per detector and severity" in text and "## Totals per 10k assumptions" in text
    assert "| outside account assumes a prod role | external_account |" in text
    assert "old table" not in text and text.endswith("closing note\n")


def test_the_workload_is_deterministic_and_has_every_pattern(tmp_path: Path) -> None:
    for name in ("a", "b"):
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench import org; org.write(__import__('pathlib')"
                f".Path({str(tmp_path / name)!r}), days=1)",
            ],
            cwd=REPO,
            check=True,
            timeout=300,
        )
    first = tmp_path / "a" / "config.yaml"
    day = "stream/2026-11-02.jsonl"
    assert (tmp_path / "a" / day).read_bytes() == (tmp_path / "b" / day).read_bytes()
    records = [orjson.loads(line) for line in (tmp_path / "a" / day).read_bytes().splitlines()]
    names = {r["eventName"] for r in records}
    assert names == {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}
    kinds = {r["userIdentity"]["type"] for r in records}
    assert kinds == {"AWSService", "AssumedRole", "AWSAccount", "SAMLUser", "WebIdentityUser"}
    assert any(r.get("errorCode") == "AccessDenied" for r in records)
    assert any((r.get("requestParameters") or {}).get("externalId") for r in records)
    config = orjson.loads(first.read_bytes())
    assert len(orjson.loads((tmp_path / "a" / "accounts.json").read_bytes())["Accounts"]) >= 10
    assert len(config["trusted_external_accounts"]) == 2


def _growing(folder: Path, days: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from bench import growing; from bench.growing_org "
            f"import Shape; growing.write(Path({str(folder)!r}), Shape(accounts=24, days={days}))",
        ],
        cwd=REPO,
        check=True,
        timeout=300,
    )


def test_the_growing_workload_is_deterministic_and_grows(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _growing(tmp_path / name, days=3)
    days = sorted((tmp_path / "a" / "stream").glob("*.jsonl"))
    assert [d.name for d in days] == [f"2026-11-2{n}.jsonl" for n in (3, 4, 5)]
    for day in days:
        assert day.read_bytes() == (tmp_path / "b" / "stream" / day.name).read_bytes()
    records = [orjson.loads(line) for day in days for line in day.read_bytes().splitlines()]
    names = {r["eventName"] for r in records}
    # An account is vended on the second day: Control Tower, Organizations, its baseline roles.
    assert {"CreateManagedAccount", "CreateAccount", "CreateAccountResult", "CreateRole"} <= names
    subjects = {r["userIdentity"].get("userName", "") for r in records}
    assert any(s.startswith("system:serviceaccount:pr-") for s in subjects), "previews"
    assert any(":ref:refs/tags/v" in s for s in subjects), "release tags"
    services = {r["userIdentity"].get("invokedBy") for r in records}
    assert {"pods.eks.amazonaws.com", "controltower.amazonaws.com"} <= services
    refused = [r for r in records if r.get("errorCode") == "AccessDenied"]
    assert refused and all(":pull_request" in r["userIdentity"]["userName"] for r in refused)
    joined = {
        r["serviceEventDetails"]["createAccountStatus"]["accountId"]
        for r in records
        if r["eventName"] == "CreateAccountResult"
    }
    configured = orjson.loads((tmp_path / "a" / "accounts.json").read_bytes())["Accounts"]
    assert len(configured) == 24 and joined and not joined & {a["Id"] for a in configured}
    before = orjson.loads((tmp_path / "a" / "config.yaml").read_bytes())
    after = orjson.loads((tmp_path / "a" / "config-after-onboarding.yaml").read_bytes())
    assert len(after["trusted_external_accounts"]) == len(before["trusted_external_accounts"]) + 1


def test_growing_shapes_replay_into_complete_reports(tmp_path: Path) -> None:
    report = tmp_path / "NOISE.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.noise",
            "--workload",
            "growing",
            "--days",
            "2",
            "--growing-accounts",
            "12",
            "--out",
            str(report),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    text = report.read_text(encoding="utf-8")
    assert text.count("# Noise on a growing organisation") == 2
    assert "| 2026-11-23 Mon | learning |" in text and "| 2026-11-24 Tue | learning |" in text
    assert "| hub session pivots to a role name it never used |" in text
    assert "| provider change by a principal that never managed providers |" in text
