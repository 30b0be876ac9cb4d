"""docs/detectors.md and `role-monitor detectors` describe every registered detector.

The Alertmanager runbook link of each alert is ``docs/detectors.md#<id>``: a detector missing
from the page would send on-call to nowhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from detectors import docs, registry
from monitor.cli import main
from monitor.commands.detectors_cmd import describe

DOC = Path(__file__).parent.parent / "docs" / "detectors.md"
IDS = [cls.id for cls in registry.ALL]


def test_ids_are_unique_and_contract_ids_all_present() -> None:
    assert len(IDS) == len(set(IDS))
    contract = {
        "external_account", "cross_account_first_seen", "missing_external_id",
        "federation_untrusted_provider", "federation_subject_not_allowed", "break_glass_assumed",
        "break_glass_denied", "root_session", "role_chain_cross_account",
        "assume_role_denied_burst", "identity_provider_changed", "account_left_organization",
        # issue 22: the identity paths beside trust policies
        "assume_role_slow_enumeration", "session_token_issued", "pod_identity_new_binding",
        "roles_anywhere_trust", "permission_set_escalation", "token_replayed_off_network",
        "source_identity_mismatch",
    }  # fmt: skip
    assert {cls.id for cls in registry.CONTRACT} == contract
    assert len(registry.BEYOND) >= 5


@pytest.mark.parametrize("detector_id", IDS)
def test_every_detector_has_a_runbook_section(detector_id: str) -> None:
    headings = re.findall(r"^## (\S+)$", DOC.read_text(encoding="utf-8"), flags=re.M)
    assert detector_id in headings


def test_committed_page_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == docs.render(), (
        "docs/detectors.md is stale: python -m detectors.docs > docs/detectors.md"
    )


@pytest.mark.parametrize("cls", registry.ALL, ids=IDS)
def test_metadata_is_filled(cls: type) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]+", cls.id)
    assert cls.summary and cls.summary.endswith(".")
    assert cls.needs, f"{cls.id}: say what it needs (or 'the event only')"
    assert issubclass(cls.Options, BaseModel)
    assert cls.Options.model_config.get("extra") == "forbid", "a knob typo must be an error"
    for name, spec in cls.Options.model_fields.items():
        assert spec.description, f"{cls.id}.{name} has no description"


def test_the_command_lists_what_the_page_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detectors", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == IDS
    page = DOC.read_text(encoding="utf-8")
    for row in describe():
        section = page.split(f"## {row['id']}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**Severity:** {row['severity']}" in section
        assert row["summary"] in section
        for knob in row["knobs"]:
            assert f"`detectors.{row['id']}.{knob}`" in section


def test_table_output_names_every_knob(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detectors"]) == 0
    out = capsys.readouterr().out
    assert "detectors.assume_role_denied_burst.threshold" in out
    assert "detectors.cross_account_first_seen.learning_period" in out
