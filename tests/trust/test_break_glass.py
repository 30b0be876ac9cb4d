"""Break-glass matching is one function: enrichment and the evidence agree on every rule."""

from __future__ import annotations

import pytest

from monitor.config.settings import BreakGlassConfig
from monitor.inventory.roles import RoleInfo
from monitor.trust.break_glass import break_glass_rule, is_break_glass

ARN = "arn:aws:iam::111122223333:role/ops/Emergency"


def role(tags: dict[str, str]) -> RoleInfo:
    return RoleInfo(arn=ARN, account="111122223333", name="Emergency", source="test", tags=tags)


def config(**rules: object) -> BreakGlassConfig:
    return BreakGlassConfig.model_validate({"role_name_patterns": [], "role_tags": {}, **rules})


@pytest.mark.parametrize(
    ("rules", "tags", "rule"),
    [
        ({"role_arns": [ARN]}, {}, "role_arns"),
        ({"role_name_patterns": ["EMERG*"]}, {}, "role_name_patterns: EMERG*"),
        (
            {"role_tags": {"Break-Glass": "TRUE"}},
            {"break-glass": "true"},
            "role_tags: Break-Glass=TRUE",
        ),
        ({"role_tags": {"break-glass": "true"}}, {"break-glass": "false"}, None),
        # An empty configured value matches a tag with an empty value, never a missing tag:
        # the evidence's copy used to match every untagged role here.
        ({"role_tags": {"break-glass": ""}}, {"break-glass": ""}, "role_tags: break-glass="),
        ({"role_tags": {"break-glass": ""}}, {"owner": "ops"}, None),
    ],
)
def test_rule_and_decision_agree(
    rules: dict[str, object], tags: dict[str, str], rule: str | None
) -> None:
    settings = config(**rules)
    assert break_glass_rule(ARN, role(tags), settings) == rule
    assert is_break_glass(ARN, role(tags), settings) is (rule is not None)


def test_an_unknown_role_matches_by_arn_or_name_only() -> None:
    settings = config(role_tags={"break-glass": ""})
    assert break_glass_rule(ARN, None, settings) is None
    assert break_glass_rule(None, role({"break-glass": ""}), settings) is None
