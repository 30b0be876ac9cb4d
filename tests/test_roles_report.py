"""``role-monitor roles``: the posture report on the bundled sample organisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main

REPO = Path(__file__).resolve().parent.parent
CONFIG = str(REPO / "examples" / "config.yaml")
STREAM = str(REPO / "examples" / "stream")


def report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["roles", "--config", CONFIG, "--format", "json", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def flags(data: dict[str, Any]) -> dict[str, set[str]]:
    return {role["name"]: {flag["code"] for flag in role["flags"]} for role in data["roles"]}


def by_name(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(role for role in data["roles"] if role["name"] == name)


def test_flags_of_the_sample_roles(capsys: pytest.CaptureFixture[str]) -> None:
    data = report(capsys)
    found = flags(data)
    assert found["VendorReadOnly"] == set()  # trusted vendor, with ExternalId
    assert found["LegacyPartnerAccess"] == {
        "untrusted_external_account",
        "external_without_external_id",
    }
    assert found["github-deploy"] == {"oidc_wildcard_sub"}
    assert found["BreakGlassAdmin"] == {"break_glass"}
    assert found["IncidentResponse"] == {"break_glass"}  # by tag only
    assert found["orders-api-lambda"] == set()
    assert data["roles"][0]["name"] in ("github-deploy", "LegacyPartnerAccess")  # worst first
    assert data["observation"]["start"] is None  # examples keep state in memory


def test_who_may_assume_and_how(capsys: pytest.CaptureFixture[str]) -> None:
    data = report(capsys)
    vendor = by_name(data, "VendorReadOnly")["grants"]
    assert vendor == [
        {
            "effect": "Allow",
            "principal": "arn:aws:iam::999988887777:root",
            "kind": "account_root",
            "scope": "trusted_vendor",
            "actions": ["sts:AssumeRole"],
            "conditions": ["StringEquals sts:externalid = acme-7f1c"],
            "last_used": None,
        }
    ]
    github = by_name(data, "github-deploy")["grants"][0]
    assert (github["kind"], github["scope"]) == ("oidc_provider", "federated")
    assert by_name(data, "SecurityAudit")["grants"][0]["scope"] == "organization"


def test_usage_from_the_state_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.db")
    assert main(["replay", "--config", CONFIG, "--state", state, STREAM]) == 0
    capsys.readouterr()
    data = report(capsys, "--state", state)
    assert data["observation"]["start"] == "2026-11-01T08:00:05Z"
    glass = by_name(data, "BreakGlassAdmin")
    assert glass["last_assumed"] == "2026-11-01T09:15:00Z"
    assert "last assumed 2026-11-01T09:15:00Z" in glass["flags"][0]["detail"]
    assert by_name(data, "IncidentResponse")["last_assumed"] is None  # the attempt was denied
    found = flags(data)
    assert "dormant_cross_account_trust" in found["SecurityAudit"]  # nobody came from mgmt
    assert "dormant_cross_account_trust" not in found["OrganizationAuditRole"]  # auditor did
    assert "dormant_cross_account_trust" not in found["BreakGlassAdmin"]  # meant to sit idle
    audit = by_name(data, "OrganizationAuditRole")["grants"][0]
    assert audit["last_used"] == "2026-11-01T08:05:00Z"


def test_table_fits_100_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state.db")
    main(["replay", "--config", CONFIG, "--state", state, STREAM])
    capsys.readouterr()
    assert main(["roles", "--config", CONFIG, "--state", state]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "LegacyPartnerAccess" in text and "untrusted_external_account" in text
    assert "break-glass role, last assumed 2026-11-01T09:15:00Z" in text


def test_missing_state_file_means_no_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report(capsys, "--state", str(tmp_path / "absent.db"))
    assert data["observation"]["start"] is None
    assert not (tmp_path / "absent.db").exists()
