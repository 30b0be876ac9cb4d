"""``python -m bench.findings`` (``make findings``): one file per golden case and the example,
byte-identical whatever replay's ``--jobs`` (the optimisation branches diff two of its runs)."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "detector_cases"


def findings(out: Path, jobs: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.findings", str(out), "--no-noise", "--jobs", str(jobs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_golden_and_example_findings_are_the_same_with_one_or_two_jobs(tmp_path: Path) -> None:
    findings(tmp_path / "one", 1)
    findings(tmp_path / "two", 2)
    written = files(tmp_path / "one")
    cases = sorted(p for p in CASES.glob("*/*.json") if not p.parent.name.startswith("_"))
    assert len([name for name in written if name.startswith("golden/")]) == len(cases)
    assert "example.jsonl" in written
    assert written == files(tmp_path / "two")
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "one", tmp_path / "two", written, False)
    assert not mismatch and not errors
    fired = sum(len((tmp_path / "one" / n).read_bytes().splitlines()) for n in written)
    assert fired > 100  # the positive cases fire: a run that writes nothing must fail


def test_a_folder_it_did_not_write_is_never_emptied(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = subprocess.run(
        [sys.executable, "-m", "bench.findings", str(tmp_path), "--no-noise"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "not touched" in done.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
