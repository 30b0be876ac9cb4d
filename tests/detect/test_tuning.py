"""``tune`` grouping: never a rule on an empty field; mechanisms where the noise is spread thin.

Each proposed rule goes through the real :class:`Suppressor` both ways: it silences the noise it
was built from, and not the finding an attacker would hide next to it (another principal,
another role name, a repository or namespace outside the template, an outside account).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from plugins.sample_findings import make_finding

from monitor.config.settings import Suppression
from monitor.detect.suppress import Suppressor
from monitor.detect.tuning import Group, Grouper, add_auto, add_finding
from monitor.findings import Finding, Severity

HUB = "arn:aws:sts::111111111111:assumed-role/TerraformHub/run-{n}"
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def finding(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A finding as ``replay`` writes it (JSON), ``n`` minutes after START."""
    fields = {
        "detector": "role_chain_cross_account",
        "severity": Severity.MEDIUM,
        "event_id": f"e{n}",
        "assumption_id": f"a{n}",
        "dedup_key": f"k{n}",
        "event_time": START + timedelta(minutes=n),
        **changes,
    }
    document: dict[str, Any] = make_finding(**fields).model_dump(mode="json")
    return document


def member(n: int) -> str:
    return f"{200000000000 + n}"


def provider_change(n: int, principal: str = HUB.format(n=7)) -> dict[str, Any]:
    return finding(
        n,
        detector="identity_provider_changed",
        event_name="UpdateOpenIDConnectProviderThumbprint",
        principal=principal,
        role_arn=None,
        role_account=member(n),
        evidence={"provider_arn": f"arn:aws:iam::{member(n)}:oidc-provider/token.actions"},
    )


def hub_hop(n: int, role: str = "TerraformExecution", **changes: Any) -> dict[str, Any]:
    fields = {
        "principal": HUB.format(n=n),
        "role_arn": f"arn:aws:iam::{member(n)}:role/{role}",
        "role_account": member(n),
        **changes,
    }
    return finding(n, **fields)


def subject(n: int, sub: str, kind: str = "web_identity") -> dict[str, Any]:
    provider = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB"
    return finding(
        n,
        detector="federated_subject_first_seen",
        principal=sub,
        role_arn="arn:aws:iam::222222222222:role/preview-web",
        evidence={"federation": {"kind": kind, "provider": provider, "subject": sub}},
    )


def auto(findings: list[dict[str, Any]], min_count: int = 2) -> list[Group]:
    grouper = Grouper()
    assert add_auto(grouper, findings, min_count) == 0
    return grouper.noisiest(10, min_count)


def silences(group: Group, document: dict[str, Any]) -> bool:
    rule = Suppression(detector=group.detector, match=group.match, reason="test")
    return Suppressor([rule]).match(Finding.model_validate(document)) is not None


def test_no_rule_on_an_empty_field() -> None:
    """Issue 19: ``--by role`` offered ``role_arn: ""``, which silences every provider change."""
    grouper = Grouper()
    for n in range(5):
        assert add_finding(grouper, provider_change(n), ["role"])
    assert grouper.groups == {} and grouper.ungrouped == 5
    grouper = Grouper()
    for n in range(5):
        add_finding(grouper, finding(n, principal=""), ["principal", "role"])
    assert grouper.groups == {} and grouper.ungrouped == 5


def test_a_change_set_is_one_rule_for_that_principal_and_change() -> None:
    changes = [provider_change(n) for n in range(75)]
    (group,) = auto(changes)
    assert group.kind == "change set" and group.count == 75
    assert "role_arn" not in group.match
    assert all(silences(group, change) for change in changes)
    stranger = "arn:aws:sts::333333333333:assumed-role/Intruder/x"
    assert not silences(group, provider_change(80, principal=stranger))
    audience = {**provider_change(81), "event_name": "AddClientIDToOpenIDConnectProvider"}
    assert not silences(group, audience), "another kind of change is not the same change set"


def test_a_hub_reaching_one_role_name_in_many_accounts_is_one_rule() -> None:
    hops = [hub_hop(n) for n in range(30)]
    (group,) = auto(hops)
    assert group.kind == "hub role name" and group.count == 30
    assert all(silences(group, hop) for hop in hops)
    assert silences(group, hub_hop(99)), "one more member account: routine"
    assert not silences(group, hub_hop(99, role="OrganizationAccountAccessRole")), "a pivot"
    other = hub_hop(99, principal="arn:aws:sts::111111111111:assumed-role/Dev/x")
    assert not silences(group, other)
    assert not silences(group, hub_hop(99, category="external")), "outside the organisation"
    forged = hub_hop(99, role_arn="arn:aws:iam::1:role/x:role/TerraformExecution")
    assert not silences(group, forged), "the account is twelve digits, nothing else"


def test_subject_templates_widen_only_the_part_that_varies() -> None:
    previews = [subject(n, f"system:serviceaccount:pr-{1200 + n}:web") for n in range(15)]
    (group,) = auto(previews)
    assert group.kind == "subject template"
    assert group.match["evidence.federation.subject"] == "system:serviceaccount:pr-*:web"
    assert silences(group, subject(50, "system:serviceaccount:pr-9999:web"))
    assert not silences(group, subject(51, "system:serviceaccount:kube-system:web"))
    assert not silences(group, subject(52, "system:serviceaccount:pr-1:admin"))

    tags = [subject(n, f"repo:acme/app:ref:refs/tags/v1.{n}.0") for n in range(5)]
    (tag_group,) = auto(tags)
    assert tag_group.match["evidence.federation.subject"] == "repo:acme/app:ref:refs/tags/*"
    assert not silences(tag_group, subject(60, "repo:evil/app:ref:refs/tags/v1.0.0"))
    assert not silences(tag_group, subject(61, "repo:acme/app:ref:refs/heads/main"))


def test_auto_stays_exact_where_one_pair_repeats() -> None:
    pair = {"principal": HUB.format(n=0), "role_arn": hub_hop(0)["role_arn"]}
    same = [hub_hop(n, **pair) for n in range(9)]
    (group,) = auto(same)
    assert group.kind == "" and set(group.match) == {"principal", "role_arn"}
    assert group.count == 9
    assert not silences(group, hub_hop(1)), "no wider than the noise"


def test_thin_noise_without_a_mechanism_proposes_nothing() -> None:
    lone = [finding(n, principal=f"arn:aws:iam::111111111111:user/u{n}") for n in range(5)]
    assert auto(lone) == []
