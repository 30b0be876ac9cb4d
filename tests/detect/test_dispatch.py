"""The dispatch table runs exactly the hooks the declarations admit.

Each detector declares once which assumptions its hooks run on (``Detector.applies``); the hook
takes it as given. The pipeline looks the hooks up in a table keyed by an assumption's traits,
filled on first sight; a table gone stale (the detector list changed under it) or a trait the
key lost would run a hook where it does not belong, or skip one where it does. So every golden
case, the example stream and both bench streams are replayed twice, with the table and with
every declaration checked afresh on every assumption, and the findings, the counts and the
whole state (every table of the SQLite state file after the last commit) must be equal.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from helpers import REPO
from test_detector_cases import BASE_CONFIG, CASES, merged

from detectors import registry
from detectors.base import DispatchKey
from detectors.dispatch import Dispatch, RunAll
from monitor.config.settings import Settings, load_settings
from monitor.service.app import build_monitor
from monitor.sources.files import expand, read_messages

ROOT = REPO
sys.path.insert(0, str(ROOT))  # the bench's own generator (bench/ is not an installed package)

from bench.generate import Generator, StreamSpec, write_inventory  # noqa: E402
from bench.monitor_proc import write_config  # noqa: E402

EXAMPLES = ROOT / "examples"


def outcome(settings: Settings, payloads: Iterable[bytes], every_hook: bool) -> dict[str, Any]:
    """Findings, counts and the committed state of one replay of ``payloads``."""
    monitor = build_monitor(settings)
    pipeline = monitor.pipeline
    if every_hook:
        pipeline.dispatch = RunAll(pipeline.detectors)
    try:
        findings = [
            finding.model_dump_json()
            for payload in payloads
            for finding in pipeline.process(payload).findings
        ]
        pipeline.state.commit()
        stats = pipeline.stats
        counts = (
            stats.processed,
            dict(stats.findings),
            dict(stats.suppressed),
            dict(stats.detector_errors),
        )
    finally:
        monitor.close()
    return {"findings": findings, "counts": counts, "state": dump(Path(settings.state.path))}


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a state file, in a stable order."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in tables}


def assert_same(settings: Settings, payloads: list[bytes], tmp: Path) -> dict[str, Any]:
    runs = []
    for every_hook in (False, True):
        state = settings.state.model_copy(update={"path": str(tmp / f"state-{every_hook}.db")})
        on_file = settings.model_copy(update={"state": state})
        runs.append(outcome(on_file, payloads, every_hook))
    dispatched, everything = runs
    assert dispatched["findings"] == everything["findings"]
    assert dispatched["counts"] == everything["counts"]
    assert dispatched["state"] == everything["state"]
    return dispatched


def golden_cases() -> list[Path]:
    return sorted(path for path in CASES.glob("*/*.json") if not path.parent.name.startswith("_"))


@pytest.mark.parametrize("case", golden_cases(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case_same_with_every_hook(case: Path, tmp_path: Path) -> None:
    spec = orjson.loads(case.read_bytes())
    settings = merged(merged(BASE_CONFIG, spec.get("config", {})), {"base_dir": CASES})
    assert_same(
        Settings(**settings), [orjson.dumps(record) for record in spec["records"]], tmp_path
    )


def test_example_stream_same_with_every_hook(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLES / "config.yaml")
    sources = expand([str(EXAMPLES / "stream")])
    payloads = [message.payload for source in sources for message in read_messages(source)]
    result = assert_same(settings, payloads, tmp_path)
    assert result["findings"], "the example stream fires detectors"


@pytest.mark.parametrize(
    "spec",
    [
        StreamSpec(records=12_000, sts_share=0.10, principals=500, roles=60, break_glass_every=97),
        StreamSpec(records=3_000, sts_share=1.0, principals=300, roles=40, break_glass_every=53),
    ],
    ids=["mix", "sts"],
)
def test_bench_stream_same_with_every_hook(spec: StreamSpec, tmp_path: Path) -> None:
    inventory = write_inventory(spec, tmp_path / "inventory")
    config, _ = write_config(tmp_path, "dispatch", inventory)
    settings = load_settings(config)
    result = assert_same(settings, list(Generator(spec).encoded()), tmp_path)
    assert len(result["findings"]) > 10


def test_an_ordinary_assumption_runs_a_few_hooks() -> None:
    """What the table is for: a same-account AssumeRole by a user runs a few of the hooks."""
    detectors = registry.build(Settings())
    key = DispatchKey("AssumeRole", True, "same_account", False, False, False)
    detect, after = Dispatch(detectors).build(key)
    assert {d.id for d, _ in detect} == {
        "many_roles_assumed",
        "role_chain_depth",
        "role_chain_loop",
        "flagged_session_used",
        "role_rate_anomaly",
        # names are caller-chosen on any assumption (issue 22)
        "source_identity_mismatch",
    }
    assert [d.id for d, _ in after] == ["flagged_session_used"]
