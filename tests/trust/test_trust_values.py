"""Trust analysis by condition values: `Principal: "*"` is pinned only by values inside.

One table per key family (account ids, ARNs, organization id, OU paths), each run through every
operator form IAM accepts: StringEquals / StringLike (ArnEquals / ArnLike for ARNs),
ForAnyValue, IfExists, Null and the negated forms. The verdict is the posture weakness the
grant gets (the same code drives ``trust_policy_opened`` and ``role-monitor roles``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.trust.policy import parse_trust_policy
from monitor.trust.posture import WeaknessCode, weaknesses

ROLE_ACCOUNT = "111111111111"
MEMBER = "222222222222"
VENDOR = "999988887777"
OUTSIDER = "666666666666"
ORG_ID = "o-abcdefghij"
OTHER_ORG = "o-zzzzzzzzzz"

OPEN = [WeaknessCode.PUBLIC_PRINCIPAL]
OUTSIDE = [WeaknessCode.UNTRUSTED_EXTERNAL_ACCOUNT]
CLOSED: list[WeaknessCode] = []


def verdict(*conditions: tuple[str, str, Any], org_id: str | None = ORG_ID) -> list[WeaknessCode]:
    block: dict[str, dict[str, Any]] = {}
    for operator, key, value in conditions:
        block.setdefault(operator, {})[key] = value
    statement = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    if block:
        statement["Condition"] = block
    policy = parse_trust_policy({"Version": "2012-10-17", "Statement": [statement]})
    found = weaknesses(
        policy, ROLE_ACCOUNT, frozenset({ROLE_ACCOUNT, MEMBER}), frozenset({VENDOR}), org_id
    )
    return [w.code for w in found]


def arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/Deploy"


# (operator, value, expected) for the account-valued keys.
ACCOUNT_ROWS = [
    ("StringEquals", MEMBER, CLOSED),
    ("StringEquals", ROLE_ACCOUNT, CLOSED),
    ("StringEquals", VENDOR, CLOSED),
    ("StringEquals", OUTSIDER, OUTSIDE),
    ("StringEquals", [MEMBER, OUTSIDER], OUTSIDE),
    ("StringLike", MEMBER, CLOSED),
    ("StringLike", OUTSIDER, OUTSIDE),
    ("StringLike", "2222*", OPEN),
    ("StringLike", "*", OPEN),
    ("ForAnyValue:StringEquals", MEMBER, CLOSED),
    ("ForAnyValue:StringEquals", OUTSIDER, OUTSIDE),
    ("ForAllValues:StringEquals", MEMBER, OPEN),
    ("StringEqualsIfExists", MEMBER, OPEN),
    ("StringNotEquals", OUTSIDER, OPEN),
    ("StringNotEquals", MEMBER, OPEN),
    ("StringNotLike", OUTSIDER, OPEN),
    ("Null", "false", OPEN),
]


@pytest.mark.parametrize("key", ["aws:PrincipalAccount", "aws:SourceAccount"])
@pytest.mark.parametrize(("operator", "value", "expected"), ACCOUNT_ROWS)
def test_account_keys(key: str, operator: str, value: Any, expected: list[WeaknessCode]) -> None:
    assert verdict((operator, key, value)) == expected


ARN_ROWS = [
    ("ArnEquals", arn(MEMBER), CLOSED),
    ("ArnEquals", arn(OUTSIDER), OUTSIDE),
    ("ArnLike", f"arn:aws:iam::{MEMBER}:role/*", CLOSED),
    ("ArnLike", f"arn:aws:iam::{OUTSIDER}:role/*", OUTSIDE),
    ("ArnLike", "arn:aws:iam::*:role/Deploy", OPEN),
    ("ArnLike", "*", OPEN),
    ("StringEquals", arn(VENDOR), CLOSED),
    ("StringLike", arn(OUTSIDER), OUTSIDE),
    ("ForAnyValue:ArnLike", arn(OUTSIDER), OUTSIDE),
    ("ArnLikeIfExists", arn(MEMBER), OPEN),
    ("ArnNotEquals", arn(OUTSIDER), OPEN),
    ("ArnNotLike", arn(MEMBER), OPEN),
    ("Null", "false", OPEN),
]


@pytest.mark.parametrize("key", ["aws:PrincipalArn", "aws:SourceArn"])
@pytest.mark.parametrize(("operator", "value", "expected"), ARN_ROWS)
def test_arn_keys(key: str, operator: str, value: Any, expected: list[WeaknessCode]) -> None:
    assert verdict((operator, key, value)) == expected


ORG_ROWS = [
    ("StringEquals", ORG_ID, CLOSED),
    ("StringEquals", OTHER_ORG, OUTSIDE),
    ("StringEquals", [ORG_ID, OTHER_ORG], OUTSIDE),
    ("StringLike", ORG_ID, CLOSED),
    ("StringLike", "o-*", OPEN),
    ("ForAnyValue:StringEquals", OTHER_ORG, OUTSIDE),
    ("StringEqualsIfExists", ORG_ID, OPEN),
    ("StringNotEquals", OTHER_ORG, OPEN),
    ("Null", "false", OPEN),
]


@pytest.mark.parametrize(("operator", "value", "expected"), ORG_ROWS)
def test_organization_id(operator: str, value: Any, expected: list[WeaknessCode]) -> None:
    assert verdict((operator, "aws:PrincipalOrgID", value)) == expected


PATH_ROWS = [
    ("ForAnyValue:StringLike", f"{ORG_ID}/r-ab12/ou-ab12-11111111/*", CLOSED),
    ("ForAnyValue:StringLike", f"{OTHER_ORG}/r-zz99/*", OUTSIDE),
    ("ForAnyValue:StringLike", "o-*/r-ab12/*", OPEN),
    ("ForAnyValue:StringEquals", f"{ORG_ID}/r-ab12/", CLOSED),
    ("ForAllValues:StringLike", f"{ORG_ID}/*", OPEN),
    ("ForAnyValue:StringNotLike", f"{OTHER_ORG}/*", OPEN),
]


@pytest.mark.parametrize(("operator", "value", "expected"), PATH_ROWS)
def test_organization_paths(operator: str, value: Any, expected: list[WeaknessCode]) -> None:
    assert verdict((operator, "aws:PrincipalOrgPaths", value)) == expected


def test_without_a_configured_org_id_org_conditions_get_the_benefit_of_the_doubt() -> None:
    assert verdict(("StringEquals", "aws:PrincipalOrgID", OTHER_ORG), org_id=None) == CLOSED
    assert verdict(("StringLike", "aws:PrincipalOrgID", "*"), org_id=None) == OPEN


def test_one_inside_condition_closes_the_grant_whatever_the_others_name() -> None:
    """Conditions are ANDed: a caller must be a member *and* match the outside ARN: nobody."""
    conditions = (
        ("StringEquals", "aws:PrincipalOrgID", ORG_ID),
        ("ArnLike", "aws:PrincipalArn", arn(OUTSIDER)),
    )
    assert verdict(*conditions) == CLOSED


def test_outside_conditions_name_the_accounts_they_open_to() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": [OUTSIDER, MEMBER]}},
    }
    policy = parse_trust_policy({"Statement": [statement]})
    (weakness,) = weaknesses(policy, ROLE_ACCOUNT, frozenset({MEMBER}), frozenset(), ORG_ID)
    assert weakness.code is WeaknessCode.UNTRUSTED_EXTERNAL_ACCOUNT
    assert OUTSIDER in weakness.detail and MEMBER not in weakness.detail
    assert weakness.severity == "high"


def test_mfa_or_external_id_conditions_pin_no_one() -> None:
    assert verdict(("Bool", "aws:MultiFactorAuthPresent", "true")) == OPEN
    assert verdict(("StringEquals", "sts:ExternalId", "x")) == OPEN


def test_the_roles_report_judges_conditions_by_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def role(name: str, operator: str, key: str, value: str) -> dict[str, Any]:
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {operator: {key: value}},
        }
        return {
            "RoleName": name,
            "Arn": f"arn:aws:iam::{ROLE_ACCOUNT}:role/{name}",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        }

    snapshot = {
        "RoleDetailList": [
            role("Backdoor", "StringEquals", "aws:PrincipalAccount", OUTSIDER),
            role("OrgOnly", "StringEquals", "aws:PrincipalOrgID", ORG_ID),
            role("OtherOrg", "StringEquals", "aws:PrincipalOrgID", OTHER_ORG),
            role("AnyOrg", "StringLike", "aws:PrincipalOrgID", "o-*"),
        ]
    }
    (tmp_path / "roles.json").write_text(json.dumps(snapshot))
    config = {
        "organization": {"accounts": [ROLE_ACCOUNT, MEMBER], "id": ORG_ID},
        "inventory": {"authorization_details": ["roles.json"]},
        "state": {"path": ":memory:"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["roles", "--config", str(tmp_path / "config.yaml"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    found = {r["name"]: {f["code"] for f in r["flags"]} for r in data["roles"]}
    assert found == {
        "Backdoor": {"untrusted_external_account"},
        "OrgOnly": set(),
        "OtherOrg": {"untrusted_external_account"},
        "AnyOrg": {"public_principal"},
    }
