"""Golden cases: every detector, positive and negative, replayed through the real pipeline.

Each ``tests/detector_cases/<detector_id>/*.json`` is one case::

    {"description": "...", "config": {...overrides of BASE_CONFIG...},
     "records": [CloudTrail records, each delivered as one message, in order],
     "expect": [{"detector": "<id>", "count": n, "<field or evidence.path>": value, ...}],
     "only": true}   # optional: no detector other than those in "expect" may fire

Field equalities apply to every finding of that detector; an expectation with ``"where":
{"<field>": value}`` counts and checks only the findings whose fields have those values (two
severities of one detector in one case). Folders starting with ``_`` hold
shared inputs (role snapshots), not cases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from detectors import registry
from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.service.app import build_monitor

CASES = Path(__file__).parent / "detector_cases"

#: The organisation every case starts from: identity, prod, dev, security accounts; one vendor.
BASE_CONFIG: dict[str, Any] = {
    "organization": {"accounts": ["111111111111", "222222222222", "333333333333", "444444444444"]},
    "trusted_external_accounts": ["999988887777"],
    "federation": {
        "allowed_providers": [
            "AWSSSO_*",
            "token.actions.githubusercontent.com",
            "cognito-identity.amazonaws.com",
        ],
        "allowed_subjects": {"token.actions.githubusercontent.com": ["repo:acme/*"]},
    },
    "state": {"path": ":memory:"},
    "metrics": {"port": None},
}


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``; nested mappings merge, everything else replaces."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def replay(config: dict[str, Any], records: list[Any]) -> list[Finding]:
    """Every finding the pipeline delivers for ``records``, one message per record."""
    settings = Settings(**merged(merged(BASE_CONFIG, config), {"base_dir": CASES}))
    monitor = build_monitor(settings)
    try:
        findings: list[Finding] = []
        for record in records:
            findings.extend(monitor.pipeline.process(orjson.dumps(record)).findings)
        assert not monitor.pipeline.stats.detector_errors, monitor.pipeline.stats.detector_errors
        return findings
    finally:
        monitor.close()


def field(finding: Finding, dotted: str) -> Any:
    value: Any = finding.model_dump(mode="json")
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return "<missing>"
        value = value[part]
    return value


def case_files() -> list[Path]:
    return sorted(path for path in CASES.glob("*/*.json") if not path.parent.name.startswith("_"))


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert {"description", "records", "expect"} <= set(case), f"{path}: incomplete case"
    return case


@pytest.mark.parametrize("path", case_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case(path: Path) -> None:
    case = load_case(path)
    findings = replay(case.get("config", {}), case["records"])
    summary = [(f.detector, f.title) for f in findings]
    for expect in case["expect"]:
        detector = expect["detector"]
        where = expect.get("where", {})
        mine = [
            f
            for f in findings
            if f.detector == detector and all(field(f, k) == v for k, v in where.items())
        ]
        assert len(mine) == expect["count"], f"{case['description']}\n{detector}: {summary}"
        for name, wanted in expect.items():
            if name in {"detector", "count", "where"}:
                continue
            for finding in mine:
                assert field(finding, name) == wanted, f"{detector}.{name}: {finding.evidence}"
    if case.get("only"):
        allowed = {expect["detector"] for expect in case["expect"]}
        assert {f.detector for f in findings} <= allowed, summary


@pytest.mark.parametrize("detector", [cls.id for cls in registry.ALL])
def test_every_detector_has_positive_and_negative_cases(detector: str) -> None:
    counts = [
        expect["count"]
        for path in case_files()
        if path.parent.name == detector
        for expect in load_case(path)["expect"]
        if expect["detector"] == detector
    ]
    assert any(count > 0 for count in counts), f"{detector}: no positive case"
    assert any(count == 0 for count in counts), f"{detector}: no negative case"


def test_case_folders_name_real_detectors() -> None:
    known = {cls.id for cls in registry.ALL}
    folders = {p.name for p in CASES.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders <= known, folders - known


def test_findings_carry_the_contract_fields() -> None:
    """Spot check of the finding contract on one replay: every field present and typed."""
    case = load_case(CASES / "external_account" / "caller_copy_positive.json")
    (finding,) = replay(case["config"], case["records"])
    line = json.loads(finding.to_json())
    for name in (
        "detector", "severity", "title", "event_id", "event_time", "event_name", "role_arn",
        "role_account", "principal", "principal_account", "source_ip", "user_agent",
        "dedup_key", "evidence",
    ):  # fmt: skip
        assert name in line, name
    assert line["event_time"].endswith("Z")
    assert line["dedup_key"].startswith("external_account:")
    assert line["evidence"]["event_ids"] == [finding.event_id]
