"""deploy/iam/: the least-privilege policies of the forwarder and the monitor.

Each file must be a policy IAM accepts (moto server's IAM validates the grammar, as
CreatePolicy does), grant no wildcard action, and grant the forwarder exactly the calls its code
makes, so a new call cannot ship without its permission (nor an old permission outlive its call).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import REPO

FOLDER = REPO / "deploy" / "iam"
POLICIES = sorted(path for path in FOLDER.glob("*.json") if not path.name.endswith("-trust.json"))
#: Calls that AWS authorises on "*" only.
ACCOUNT_WIDE = {"organizations:ListAccounts", "iam:GetRole", "iam:ListRoles", "iam:ListRoleTags"}
#: boto3 calls of the forwarder's sources → the IAM action each needs.
FORWARDER_CALLS = {
    "receive_message": "sqs:ReceiveMessage",
    "delete_message_batch": "sqs:DeleteMessage",
    "change_message_visibility_batch": "sqs:ChangeMessageVisibility",
    "get_queue_attributes": "sqs:GetQueueAttributes",
    "get_object": "s3:GetObject",
}


def _statements(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["Version"] == "2012-10-17"
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_the_policies_are_there() -> None:
    names = {path.name for path in POLICIES}
    assert {"forwarder-policy.json", "monitor-policy.json", "reader-role-policy.json"} <= names


@pytest.mark.aws
@pytest.mark.parametrize("path", [*POLICIES, *FOLDER.glob("*-trust.json")], ids=lambda p: p.name)
def test_iam_accepts_the_document(moto_server: str, path: Path) -> None:
    iam = boto3.client("iam", endpoint_url=moto_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    text = path.read_text(encoding="utf-8")
    if path.name.endswith("-trust.json"):
        iam.create_role(RoleName=f"policy-test-{path.stem}", AssumeRolePolicyDocument=text)
    else:
        iam.create_policy(PolicyName=f"policy-test-{path.stem}", PolicyDocument=text)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_least_privilege_no_wildcard_actions_and_scoped_resources(path: Path) -> None:
    for statement in _statements(path):
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert "*" not in action, f"{path.name}: wildcard action {action}"
        if statement["Resource"] == "*":
            assert set(_actions(statement)) <= ACCOUNT_WIDE, f"{path.name}: {statement['Sid']}"


def test_the_forwarder_is_granted_exactly_the_aws_calls_it_makes() -> None:
    source = "\n".join(
        (REPO / "monitor" / "sources" / name).read_text() for name in ("sqs.py", "s3.py")
    )
    forwarder_source = (REPO / "monitor" / "service" / "forwarder.py").read_text()
    made = {call for call in FORWARDER_CALLS if re.search(rf"\b{call}\b", source)}
    assert made == set(FORWARDER_CALLS)
    assert "read_object" in forwarder_source and "list_logs" not in forwarder_source
    granted = {
        action
        for statement in _statements(FOLDER / "forwarder-policy.json")
        for action in _actions(statement)
        if action.split(":")[0] in ("sqs", "s3")
    }
    assert granted == set(FORWARDER_CALLS.values())
