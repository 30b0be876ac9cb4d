"""One ladder of accounts: a caller's category and a grant's scope stand on the same rungs."""

from __future__ import annotations

import pytest

from monitor.aws.accounts import Rung, rung
from monitor.trust.model import Effect, PrincipalKind, TrustGrant, classify

ROLE, MEMBER, VENDOR, STRANGER = "111111111111", "222222222222", "333333333333", "444444444444"
MEMBERS = frozenset({ROLE, MEMBER, "555555555555"})
VENDORS = frozenset({VENDOR, "555555555555"})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (ROLE, Rung.SAME_ACCOUNT),
        (MEMBER, Rung.ORGANIZATION),
        ("555555555555", Rung.ORGANIZATION),  # a member on the vendor list is still ours
        (VENDOR, Rung.VENDOR),
        (STRANGER, Rung.EXTERNAL),
    ],
)
def test_the_ladder_and_the_grant_scope_agree(source: str, expected: Rung) -> None:
    assert rung(source, ROLE, MEMBERS, VENDORS) is expected
    grant = TrustGrant(
        Effect.ALLOW, PrincipalKind.ACCOUNT_ROOT, source, source, ("sts:AssumeRole",)
    )
    assert classify(grant, ROLE, MEMBERS, VENDORS).name == expected.name


def test_the_rungs_are_the_caller_categories() -> None:
    assert [r.value for r in Rung] == ["same_account", "organization", "vendor", "external"]
