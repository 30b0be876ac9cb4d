"""Peer rules (Panther, Stratus Red Team) against ours, on their own labelled cases.

``expected`` in a peer case is what *that* rule decides. Where a peer rule means the same as
one of our detectors, every one of its cases must agree: our detector fires exactly when the
peer's does. Rules with no counterpart are listed with the reason in tests/PEER_RULES.md, and
their cases pin what we do instead (usually: nothing, because the event is not a role
assumption, or is one nothing is wrong with).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_detector_cases import replay

from monitor.config.settings import Settings
from monitor.intake.envelopes import Record
from monitor.intake.normalize import normalize
from monitor.service.app import build_monitor

PEER = Path(__file__).parent / "fixtures" / "peer-cases"
RULES_DOC = Path(__file__).parent / "PEER_RULES.md"


@dataclass(frozen=True)
class Same:
    """A peer rule that means what ``detector`` means (under ``config``)."""

    detector: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Unmapped:
    """No detector of ours means the same; ``fires`` is what we report on its cases, if any."""

    reason: str
    fires: dict[str, str] = field(default_factory=dict)  # case stem -> our detector


BLOCKLIST = {"break_glass": {"role_arns": ["arn:aws:iam::123456789012:role/FullAdminRole"]}}

MAPPING: dict[str, Same | Unmapped] = {
    "AWS.CloudTrail.IAMAssumeRoleBlacklistIgnored": Same("break_glass_assumed", BLOCKLIST),
    "stratus:aws.persistence.sts-federation-token": Same("federation_token_issued"),
    "AWS.IAM.BackdoorRole": Same("trust_policy_opened"),
    "stratus:aws.persistence.iam-backdoor-role": Same("trust_policy_opened"),
    "stratus:aws.persistence.iam-create-backdoor-role": Same("trust_policy_opened"),
    "AWS.Suspicious.SAML.Activity": Same("identity_provider_changed"),
    "Role.Assumed.by.AWS.Service": Unmapped("a signal, not an alert: our caller category"),
    "Role.Assumed.by.User": Unmapped("a signal, not an alert: our caller category"),
    "AWS.STS.GetSessionToken.Misuse": Unmapped(
        "every GetSessionToken by an IAM user; ours: no MFA, too long, or a first use",
        fires={"AWS.STS.GetSessionToken.Misuse__1": "session_token_issued"},
    ),
    "AWS.CloudTrail.UserAccessKeyAuth": Unmapped("any API call with a long-term key"),
    "AWS.STS.GetCallerIdentity.TruffleHog": Unmapped("GetCallerIdentity is no assumption"),
    "AWS.EC2.ManyPasswordReadAttempts": Unmapped("EC2 GetPasswordData volume"),
    "AWS.IAM.CreateRole": Unmapped("correlation signal on every CreateRole"),
    "stratus:aws.credential-access.ec2-get-password-data": Unmapped("harness events only"),
    "stratus:aws.defense-evasion.organizations-leave": Unmapped("harness events only"),
    "stratus:aws.discovery.ec2-download-user-data": Unmapped("harness events only"),
    "stratus:aws.execution.ec2-launch-unusual-instances": Unmapped("harness events only"),
    "stratus:aws.persistence.iam-create-user-login-profile": Unmapped("harness events only"),
    "stratus:aws.credential-access.ec2-steal-instance-credentials": Unmapped(
        "stolen instance credentials used from outside AWS: a GuardDuty network signal"
    ),
    "stratus:aws.persistence.rolesanywhere-create-trust-anchor": Same("roles_anywhere_trust"),
}


def cases() -> list[Path]:
    return sorted(PEER.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def agreeing_cases() -> list[Path]:
    return [p for p in cases() if isinstance(MAPPING.get(load(p)["rule"]), Same)]


def unmapped_cases() -> list[Path]:
    return [p for p in cases() if isinstance(MAPPING.get(load(p)["rule"]), Unmapped)]


@pytest.mark.parametrize("path", agreeing_cases(), ids=lambda p: p.stem)
def test_same_meaning_same_decision(path: Path) -> None:
    case = load(path)
    mapping = MAPPING[case["rule"]]
    assert isinstance(mapping, Same)
    fired = [f for f in replay(mapping.config, [case["record"]]) if f.detector == mapping.detector]
    assert bool(fired) == case["expected"], f"{case['rule_logic']}\nours: {fired}"


@pytest.mark.parametrize("path", unmapped_cases(), ids=lambda p: p.stem)
def test_unmapped_rules_cases_pin_what_we_do(path: Path) -> None:
    case = load(path)
    mapping = MAPPING[case["rule"]]
    assert isinstance(mapping, Unmapped)
    fired = sorted(f.detector for f in replay({}, [case["record"]]))
    expected = [mapping.fires[path.stem]] if path.stem in mapping.fires else []
    assert fired == expected, case["rule_logic"]


@pytest.mark.parametrize(
    "path",
    [p for p in cases() if load(p)["rule"].startswith("Role.Assumed.by.")],
    ids=lambda p: p.stem,
)
def test_signal_rules_agree_with_our_caller_category(path: Path) -> None:
    """Panther's two signal rules split AssumeRole by userIdentity.type: our category does."""
    case = load(path)
    settings = Settings(state={"path": ":memory:"}, metrics={"port": None})
    monitor = build_monitor(settings)
    try:
        event = normalize(Record(case["record"], "bare").data)
        assert event is not None
        category = monitor.pipeline.enricher.enrich(event).category
    finally:
        monitor.close()
    is_service = category == "service"
    wants_service = case["rule"] == "Role.Assumed.by.AWS.Service"
    assert (is_service == wants_service) == case["expected"], category


def test_every_peer_case_is_mapped_and_documented() -> None:
    rules = {load(p)["rule"] for p in cases()}
    assert rules == set(MAPPING), rules ^ set(MAPPING)
    doc = RULES_DOC.read_text(encoding="utf-8")
    for rule in rules:
        assert f"`{rule}`" in doc, f"{rule} is not in {RULES_DOC.name}"


def test_fixtures_are_byte_for_byte_copies_with_provenance() -> None:
    """Each copy is listed in PROVENANCE.md with the SHA-256 of the upstream file."""
    provenance = (PEER / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in cases():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"| `{path.name}` |" in provenance, path.name
        assert f"`{digest}`" in provenance, f"{path.name} differs from its upstream copy"
