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
