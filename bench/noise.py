"""``python -m bench.noise`` (``make noise``): how loud the monitor is on two kinds of fortnight.

Generates the workloads (no attack in them): the ordinary organisation of :mod:`bench.org` and
two shapes of the growing organisation of :mod:`bench.growing` (the default, and a bigger one
growing twice as fast from another seed). Each is replayed day by day through
``role-monitor replay`` with ONE state file, the organisation's config (the growing one's
operator trusts the vendor onboarded mid-period from that day: the days from then on are
replayed with that config, into the same state; its DR game day is declared as a maintenance
window, as the operator who planned it would) and the default detector settings (no
suppression rule). ``bench/NOISE.md`` gets, per workload: findings per day, per detector and
severity, before and after the learning period, per 10k assumptions, and whether the budget of
issues 10 and 19 holds (after learning: at most 2 findings a day of severity medium or above,
root sessions excepted, and at most 20 low or info).

Then each workload's attacks (:mod:`bench.attacks`) are replayed on top, into a copy of its
state, and the report says which detector caught each: recall measured on the same baseline.

Text below the ``KEPT`` marker in the report is kept from one run to the next (the closing
note that quotes earlier tables).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench import growing, org
from bench.attacks import Attack, attacks, growing_attacks
from bench.growing_org import Shape

HERE = Path(__file__).parent
KEPT = "<!-- kept: everything below this line survives `make noise` -->"
SEVERITIES = ("critical", "high", "medium", "low", "info")
PAGING = {"critical", "high", "medium"}
#: Root sessions page whatever the budget says (issue 10).
EXEMPT = {"root_session"}
BUDGET_PAGING, BUDGET_LOW = 2, 20
LEARNING = timedelta(days=7)  # the detectors' default learning period
ORDINARY = (
    "12 accounts, ~120 people, CI hub, scanner, vendors, IRSA pods, a crash-looping pod, "
    "joiners, a quarterly job; no attack"
)
#: The growing organisation's shapes: the default, and one growing twice as fast from another
#: seed (smaller, so that ``make noise`` stays within minutes on a shared machine).
SHAPES = (
    Shape(),
    Shape(accounts=100, joins_per_week=3.0, seed=7, name="faster-growing, other seed"),
)


@dataclass
class Run:
    """One workload to measure: days replayed in segments (each with its config) into one
    state, then its attacks on top with the last segment's config."""

    title: str
    description: str
    segments: list[tuple[Path, list[Path]]]
    attacks: list[Attack]


@dataclass
class Tally:
    """Findings and assumptions of the run, by day."""

    assumptions: Counter[str] = field(default_factory=Counter)
    by_day: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_detector: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    learning_end: datetime | None = None

    def phase(self, day: str) -> str:
        """A day is learned when it is over by the end of the learning period: a period that
        ends seconds into a day (the first event came seconds after midnight) leaves that day
        to the detectors' judgement, so it counts as after learning."""
        assert self.learning_end is not None
        end = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1)
        return "learning" if end <= self.learning_end else "after"

    def add(self, finding: dict[str, object]) -> None:
        day = str(finding["event_time"])[:10]
        severity, detector = str(finding["severity"]), str(finding["detector"])
        self.by_day[day][severity] += 1
        if severity in PAGING and detector not in EXEMPT:
            self.by_day[day]["paging"] += 1
        self.by_detector[f"{detector}|{severity}"][self.phase(day)] += 1


def count_assumptions(paths: list[Path], tally: Tally) -> None:
    """One per STS call: both copies of a cross-account call share a ``sharedEventID``."""
    first: datetime | None = None
    for path in paths:
        seen: set[str] = set()
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            key = record.get("sharedEventID") or record["eventID"]
            if key not in seen:
                seen.add(key)
                tally.assumptions[path.stem] += 1
            if first is None:
                first = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    assert first is not None, "the workload is empty"
    tally.learning_end = first + LEARNING


def replay(
    config: Path, paths: list[Path], state: Path, findings: Path, jobs: int | None = None
) -> float:
    """``role-monitor replay`` over every day with one state file; its wall time."""
    options = ["--jobs", str(jobs)] if jobs else []
    started = time.perf_counter()
    with findings.open("wb") as out:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "monitor.cli",
                "replay",
                "--config",
                str(config),
                "--state",
                str(state),
                *options,
                *map(str, paths),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
    if done.returncode != 0:
        sys.exit(f"bench.noise: replay failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return time.perf_counter() - started


def per_10k(count: int, assumptions: int) -> str:
    return f"{10_000 * count / assumptions:.1f}" if assumptions else "-"


def render(tally: Tally, seconds: float, run: Run) -> str:
    days = len(tally.assumptions)
    lines = [
        f"# {run.title} (`make noise`)",
        "",
        f"{days} days of {run.description}, replayed with "
        "one state file, default detector settings and no suppression rule "
        f"(replay {seconds:.0f} s). Learning ends {tally.learning_end:%Y-%m-%d %H:%M} UTC.",
        "",
        f"Budget after learning: at most {BUDGET_PAGING} findings a day of severity medium or "
        f"above (root sessions excepted) and at most {BUDGET_LOW} low or info.",
        "",
        "## Per day",
        "",
        "| day | phase | assumptions | critical | high | medium | low | info | "
        "medium+ (paging) | budget |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for day in sorted(tally.assumptions):
        counts = tally.by_day.get(day, Counter())
        phase = tally.phase(day)
        quiet = counts["low"] + counts["info"]
        ok = counts["paging"] <= BUDGET_PAGING and quiet <= BUDGET_LOW
        verdict = "-" if phase == "learning" else ("ok" if ok else "**over**")
        if phase == "after":
            verdicts.append(ok)
        weekday = datetime.fromisoformat(day).strftime("%a")
        cells = " | ".join(str(counts[s]) for s in SEVERITIES)
        lines.append(
            f"| {day} {weekday} | {phase} | {tally.assumptions[day]} | {cells} | "
            f"{counts['paging']} | {verdict} |"
        )
    lines += [
        "",
        "## Per detector and severity",
        "",
        "| detector | severity | learning | after learning | after, per day |",
        "|---|---|---:|---:|---:|",
    ]
    after_days = sum(1 for day in tally.assumptions if tally.phase(day) == "after")
    for key in sorted(tally.by_detector, key=lambda k: -sum(tally.by_detector[k].values())):
        detector, severity = key.split("|")
        counts = tally.by_detector[key]
        per_day = counts["after"] / after_days if after_days else 0
        lines.append(
            f"| `{detector}` | {severity} | {counts['learning']} | {counts['after']} | "
            f"{per_day:.1f} |"
        )
    lines += _totals(tally)
    held = bool(verdicts) and all(verdicts)
    lines += [
        "",
        f"**Budget {'holds' if held else 'is missed'}**: it holds on "
        f"{sum(verdicts)} of {len(verdicts)} days after learning.",
        "",
    ]
    return "\n".join(lines)


def _totals(tally: Tally) -> list[str]:
    rows = [
        "",
        "## Totals per 10k assumptions",
        "",
        "| phase | assumptions | findings | medium+ | per 10k | medium+ per 10k |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for phase in ("learning", "after", "all"):
        days = [d for d in tally.assumptions if phase == "all" or tally.phase(d) == phase]
        assumptions = sum(tally.assumptions[d] for d in days)
        findings = sum(sum(tally.by_day[d][s] for s in SEVERITIES) for d in days)
        paging = sum(tally.by_day[d]["paging"] for d in days)
        rows.append(
            f"| {phase} | {assumptions} | {findings} | {paging} | "
            f"{per_10k(findings, assumptions)} | {per_10k(paging, assumptions)} |"
        )
    return rows


def attack_rows(
    work: Path, config: Path, cases: list[Attack], jobs: int | None = None
) -> tuple[list[str], bool]:
    """Replay every attack into a copy of the fortnight's state; which detector caught each."""
    stream = work / "attacks.jsonl"
    stream.write_bytes(b"".join(orjson.dumps(r) + b"\n" for a in cases for r in a.records))
    state = work / "state-attacks.db"
    shutil.copyfile(work / "state.db", state)
    findings = work / "attack-findings.jsonl"
    replay(config, [stream], state, findings, jobs)
    fired: list[dict[str, Any]] = [
        orjson.loads(line) for line in findings.read_bytes().splitlines()
    ]
    rows = [
        "",
        "## Attacks on top (recall on the same baseline)",
        "",
        "| attack | expected (any of) | fired | caught |",
        "|---|---|---|---|",
    ]
    caught_all = True
    for attack in cases:
        caught = _caught(attack, fired)
        hit = any(detector in caught for detector in attack.expect)
        caught_all &= hit
        rows.append(
            f"| {attack.name} | {', '.join(attack.expect)} | "
            f"{', '.join(f'{d} ({s})' for d, s in sorted(caught.items())) or '-'} | "
            f"{'yes' if hit else '**no**'} |"
        )
    return rows, caught_all


def _caught(attack: Attack, fired: list[dict[str, Any]]) -> dict[str, str]:
    """Detector → severity of the findings on the attack's records (either copy of a call)."""
    ids = {record["eventID"] for record in attack.records}
    caught = {}
    for finding in fired:
        on = {finding["event_id"], *finding.get("evidence", {}).get("event_ids", [])}
        if ids & on:
            caught[finding["detector"]] = finding["severity"]
    return caught


def write_report(path: Path, table: str) -> None:
    kept = ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if KEPT in text:
            kept = text.split(KEPT, 1)[1]
    path.write_text(f"{table}\n{KEPT}{kept or chr(10)}", encoding="utf-8")


def runs(
    work: Path, days: int, which: str, accounts: int | None, shapes: Sequence[Shape] = SHAPES
) -> Iterator[Run]:
    """The workloads to measure, written into ``work`` as they are reached."""
    if which in ("all", "ordinary"):
        config, paths = org.write(work / "ordinary", days=days)
        yield Run(
            "Noise on an ordinary organisation",
            f"`bench/org.py` ({ORDINARY})",
            [(config, paths)],
            attacks(),
        )
    if which in ("all", "growing"):
        for shape in shapes:
            sized = replace(shape, days=days, accounts=accounts or shape.accounts)
            yield growing_run(work / f"growing-{shape.seed}", sized)


def growing_run(folder: Path, shape: Shape) -> Run:
    config, trusted, paths = growing.write(folder, shape)
    split = growing.ONBOARDING_DAY
    segments = [(config, paths[:split]), (trusted, paths[split:])]
    workload = growing.Workload(shape)
    return Run(
        f"Noise on a growing organisation ({shape.name} shape)",
        f"`bench/growing.py` ({shape.accounts} member accounts at the start, "
        f"{shape.joins} joining, ~{len(workload.people)} people, seed {shape.seed}; "
        "the vendor onboarded on day 10 is trusted from then on; the DR game day declared as a "
        "maintenance window for its rate and fan-out findings; no attack)",
        [segment for segment in segments if segment[1]],
        growing_attacks(workload.org),
    )


def measure(run: Run, work: Path, findings: Path, with_attacks: bool) -> str:
    """Replay the run's segments into one state; the report's section for it."""
    tally = Tally()
    count_assumptions([p for _, paths in run.segments for p in paths], tally)
    state = work / "state.db"
    seconds = 0.0
    with findings.open("wb") as out:
        for n, (config, paths) in enumerate(run.segments):
            part = work / f"findings-{n}.jsonl"
            seconds += replay(config, paths, state, part)
            out.write(part.read_bytes())
    for line in findings.read_bytes().splitlines():
        tally.add(orjson.loads(line))
    table = render(tally, seconds, run)
    if with_attacks:
        rows, _ = attack_rows(work, run.segments[-1][0], run.attacks)
        table += "\n".join(rows) + "\n"
    return table


def held_out_shape(text: str) -> Shape:
    """``ACCOUNTS:JOINS_PER_WEEK:SEED`` as a growing shape named after its knobs."""
    try:
        accounts, joins, seed = text.split(":")
        return Shape(int(accounts), joins_per_week=float(joins), seed=int(seed), name=text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not ACCOUNTS:JOINS_PER_WEEK:SEED") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.noise", description=__doc__)
    parser.add_argument("--days", type=int, default=org.DAYS, help="simulated days (default 14)")
    parser.add_argument("--out", type=Path, default=HERE / "NOISE.md", help="report to write")
    parser.add_argument("--work", type=Path, help="folder for the workload (default: temporary)")
    parser.add_argument(
        "--findings", type=Path, help="folder to also keep each workload's findings in (JSON lines)"
    )
    parser.add_argument(
        "--no-attacks", action="store_true", help="skip replaying the attacks on top"
    )
    parser.add_argument(
        "--workload", choices=("all", "ordinary", "growing"), default="all", help="which to run"
    )
    parser.add_argument(
        "--growing-accounts", type=int, help="member accounts of each growing shape"
    )
    parser.add_argument(
        "--shape",
        type=held_out_shape,
        action="append",
        metavar="ACCOUNTS:JOINS_PER_WEEK:SEED",
        help="measure this growing shape instead of the two built in (repeatable): an "
        "organisation the detectors were not tuned on, e.g. 250:6:424242",
    )
    args = parser.parse_args(argv)
    shapes = tuple(args.shape) if args.shape else SHAPES
    tables = []
    with tempfile.TemporaryDirectory(prefix="noise-") as scratch:
        work = args.work or Path(scratch)
        for run in runs(work, args.days, args.workload, args.growing_accounts, shapes):
            folder = run.segments[0][0].parent
            findings = folder / "findings.jsonl"
            tables.append(measure(run, folder, findings, not args.no_attacks))
            if args.findings:
                args.findings.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(findings, args.findings / f"{folder.name}.jsonl")
            print(tables[-1], flush=True)
            shutil.rmtree(folder / "stream")  # ~0.5 GB a growing fortnight
    write_report(args.out, "\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
