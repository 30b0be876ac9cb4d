"""Policy text is read once, JSON first: a literal ``%`` in a value survives."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from monitor.aws.policy import UNREADABLE, load_policy_text, policy_document
from monitor.inventory.snapshot import load_authorization_details

# A condition value with a literal percent sign: URL-decoding it first would turn %41 into A.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "ext%41id"}},
        }
    ],
}


def test_plain_json_text_keeps_a_literal_percent() -> None:
    assert policy_document(json.dumps(POLICY)) == POLICY


def test_url_encoded_text_is_decoded() -> None:
    assert policy_document(quote(json.dumps(POLICY))) == POLICY


def test_text_that_is_no_json_object() -> None:
    assert load_policy_text("%%not json") is UNREADABLE
    assert policy_document("[1, 2]") is None
    assert policy_document(42) is None


def test_a_snapshot_keeps_the_literal_percent(tmp_path: Path) -> None:
    """The snapshot loader URL-decoded first and read the ExternalId as ``extAid``."""
    details = {
        "RoleDetailList": [
            {
                "Arn": "arn:aws:iam::111122223333:role/Vendor",
                "RoleName": "Vendor",
                "AssumeRolePolicyDocument": json.dumps(POLICY),
            }
        ]
    }
    path = tmp_path / "details.json"
    path.write_text(json.dumps(details))
    roles, accounts = load_authorization_details(path)
    assert accounts == {"111122223333"}
    assert roles[0].trust_policy == POLICY
