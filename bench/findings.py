"""``python -m bench.findings OUT`` (``make findings OUT=...``): every finding the code gives
on the inputs that pin its behaviour, one file per input, so ``diff -r`` of two runs (two
commits, or ``--jobs 1`` against ``--jobs 2``) shows any change, byte for byte.

Written below ``OUT``:

- ``golden/<detector>/<case>.jsonl``: each golden case of ``tests/detector_cases/``, with the
  config the golden test gives it, its records one message each, through replay's own feed
  (:func:`monitor.commands.replay.feed`, in process) and the JSON-lines sink;
- ``example.jsonl``: the bundled example stream with ``examples/config.yaml``;
- ``noise/<workload>.jsonl`` and ``noise/<workload>-attacks.jsonl``: the noise workloads of
  ``make noise`` (the ordinary organisation and the default growing one), each replayed day by
  day into one state with ``role-monitor replay`` as ``make noise`` does, then its attacks on
  top of a copy of that state.

Why not reuse the golden test: it checks counts and fields, not bytes, and runs no reader.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from bench import noise

REPO = Path(__file__).resolve().parent.parent
#: Written into every output folder: only a folder holding it is emptied by the next run.
MARK = ".bench-findings"
CASES = REPO / "tests" / "detector_cases"
EXAMPLES = REPO / "examples"


def golden_test() -> Any:
    """The golden test's module: its base organisation and config merging, not a copy."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import test_detector_cases
    finally:
        sys.path.remove(str(REPO / "tests"))
    return test_detector_cases


def replay_in_process(settings: Any, sources: list[Path], out: Path, jobs: int) -> None:
    """Replay's feed with its JSON-lines sink writing to ``out``: what ``replay`` would print."""
    from monitor.commands.replay import feed
    from monitor.service.app import build_monitor
    from monitor.sinks.delivery import Delivery
    from monitor.sinks.jsonl import JsonLinesSink

    monitor = build_monitor(settings, state_path=":memory:")  # as replay without --state
    sink = JsonLinesSink(str(out))
    try:
        feed(monitor, list(sources), Delivery([sink], monitor.state, monitor.metrics), None, jobs)
    finally:
        sink.close()
        monitor.close()


def golden(out: Path, jobs: int) -> int:
    """Every golden case's findings; returns how many cases."""
    from monitor.config.settings import Settings

    test = golden_test()
    base = test.merged(test.BASE_CONFIG, {"base_dir": CASES})
    cases = sorted(p for p in CASES.glob("*/*.json") if not p.parent.name.startswith("_"))
    with tempfile.TemporaryDirectory(prefix="findings-") as scratch:
        for path in cases:
            case = orjson.loads(path.read_bytes())
            stream = Path(scratch) / f"{path.stem}.jsonl"
            stream.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in case["records"]))
            target = out / "golden" / path.parent.name / f"{path.stem}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            settings = Settings(**test.merged(base, case.get("config", {})))
            replay_in_process(settings, [stream], target, jobs)
    return len(cases)


def example(out: Path, jobs: int) -> None:
    from monitor.config.settings import load_settings

    settings = load_settings(str(EXAMPLES / "config.yaml"))
    streams = sorted(p for p in (EXAMPLES / "stream").rglob("*") if p.is_file())
    replay_in_process(settings, streams, out / "example.jsonl", jobs)


def workloads(work: Path, days: int) -> Iterator[noise.Run]:
    """The ordinary organisation and the default growing one (``make noise``'s first two)."""
    yield from noise.runs(work, days, "ordinary", None)
    yield noise.growing_run(work / "growing", replace(noise.SHAPES[0], days=days))


def noise_findings(out: Path, work: Path, days: int, jobs: int) -> None:
    """Each workload's findings (segments into one state) and its attacks' on top."""
    (out / "noise").mkdir(parents=True, exist_ok=True)
    for run in workloads(work, days):
        folder = run.segments[0][0].parent
        state = folder / "state.db"
        with (out / "noise" / f"{folder.name}.jsonl").open("wb") as found:
            for n, (config, paths) in enumerate(run.segments):
                part = folder / f"findings-{n}.jsonl"
                noise.replay(config, paths, state, part, jobs)
                found.write(part.read_bytes())
        noise.attack_rows(folder, run.segments[-1][0], run.attacks, jobs)
        shutil.copyfile(
            folder / "attack-findings.jsonl", out / "noise" / f"{folder.name}-attacks.jsonl"
        )
        shutil.rmtree(folder / "stream")  # ~0.5 GB a growing fortnight
        print(f"bench.findings: {folder.name} done", file=sys.stderr, flush=True)


def prepare(out: Path) -> None:
    """An empty ``out``: a previous run's output is removed, any other folder is refused."""
    if out.exists() and any(out.iterdir()):
        if not (out / MARK).exists():
            sys.exit(f"bench.findings: {out} is not empty and not an earlier output; not touched")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("written by python -m bench.findings\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.findings", description=__doc__)
    parser.add_argument("out", type=Path, help="folder to write the findings into (emptied)")
    parser.add_argument("--jobs", type=int, default=1, help="replay's --jobs (default 1)")
    parser.add_argument("--days", type=int, default=14, help="noise workloads' days (default 14)")
    parser.add_argument(
        "--no-noise", action="store_true", help="golden cases and the example only (seconds)"
    )
    parser.add_argument("--work", type=Path, help="folder for the workloads (default: temporary)")
    args = parser.parse_args(argv)
    prepare(args.out)
    count = golden(args.out, args.jobs)
    example(args.out, args.jobs)
    print(f"bench.findings: {count} golden cases and the example done", file=sys.stderr)
    if not args.no_noise:
        with tempfile.TemporaryDirectory(prefix="findings-noise-") as scratch:
            noise_findings(args.out, args.work or Path(scratch), args.days, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
