"""Reading ARNs: every module that needs an account, partition or role name asks monitor.aws."""

from __future__ import annotations

import pytest

from monitor.aws.arns import (
    Arn,
    account_field,
    account_id,
    arn_account,
    parse_arn,
    role_arn,
    role_key,
    role_name,
    split_role_arn,
)

ROLE = "arn:aws:iam::111122223333:role/team/Deploy"
SESSION = "arn:aws:sts::111122223333:assumed-role/Deploy/ci-42"


def test_fields_of_an_arn_the_resource_keeps_its_colons() -> None:
    assert parse_arn("arn:aws-cn:s3:::bucket:key") == Arn("aws-cn", "s3", "", "", "bucket:key")
    assert parse_arn("not-an-arn") is None


@pytest.mark.parametrize(
    ("value", "account"),
    [
        (ROLE, "111122223333"),
        ("arn:aws:s3:::bucket", None),
        ("arn:aws:iam::1111:role/Short", None),
        ("arn:aws:iam::١١١١٢٢٢٢٣٣٣٣:root", None),  # non-ASCII digits are no account
        ("111122223333", None),  # a bare id is no ARN
        (None, None),
    ],
)
def test_account_of_an_arn(value: str | None, account: str | None) -> None:
    assert arn_account(value) == account


def test_a_principal_value_may_be_a_bare_account() -> None:
    assert account_id("111122223333") == "111122223333"
    assert account_id(ROLE) == "111122223333"
    assert account_id("111122223333\n") is None


def test_account_field_keeps_wildcards_for_judging_patterns() -> None:
    assert account_field("arn:aws:iam::*:role/X") == "*"
    assert account_field("arn:aws:iam:root") is None


def test_role_names_and_keys() -> None:
    assert role_name(ROLE) == "Deploy"
    assert role_name(SESSION) is None
    assert split_role_arn(ROLE) == ("111122223333", "Deploy")
    assert split_role_arn(SESSION) is None
    # A session drops the role's path: a role and its sessions share the key.
    assert role_key(ROLE) == role_key(SESSION) == ("111122223333", "Deploy")
    assert role_key("arn:aws:iam::111122223333:user/Deploy") is None


def test_spelling_a_role_arn_adds_the_trailing_slash_of_a_path() -> None:
    assert role_arn("111122223333", "Deploy", "/team") == ROLE
    assert role_arn("111122223333", "X", partition="aws-us-gov") == (
        "arn:aws-us-gov:iam::111122223333:role/X"
    )
