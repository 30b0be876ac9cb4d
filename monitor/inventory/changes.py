"""IAM role changes seen on the input: CreateRole, DeleteRole, UpdateAssumeRolePolicy, TagRole,
UntagRole, as a small model of their own.

Why: the same topic that carries STS calls carries the IAM calls that change who may assume a
role. Applying them as they pass keeps trust metadata current between snapshot exports and live
cache refreshes, and lets a trust policy that suddenly admits outsiders be reported at once.
Only successful calls count; a failed one changed nothing. Fields CloudTrail left out stay None.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.events import Caller, Frozen
from monitor.inventory.snapshot import policy_document
from monitor.normalize import RecordRejected, parse_event_time

IAM_SOURCE = "iam.amazonaws.com"


class ChangeKind(StrEnum):
    CREATE = "CreateRole"
    DELETE = "DeleteRole"
    UPDATE_TRUST = "UpdateAssumeRolePolicy"
    TAG = "TagRole"
    UNTAG = "UntagRole"


class RoleChange(Frozen):
    """One successful IAM call that changed a role's existence, trust policy or tags."""

    kind: ChangeKind
    event_id: str
    event_time: datetime
    account: str | None = None
    role_name: str | None = None
    role_arn: str | None = None
    path: str | None = None
    #: The new trust policy (CreateRole, UpdateAssumeRolePolicy) when the record carries it.
    trust_policy: dict[str, Any] | None = None
    #: Tags set (CreateRole, TagRole) and tag keys removed (UntagRole).
    tags: dict[str, str] = {}
    tag_keys: tuple[str, ...] = ()
    create_date: str | None = None
    caller: Caller = Caller()
    source_ip: str | None = None
    user_agent: str | None = None
    aws_region: str | None = None

    @property
    def target(self) -> tuple[str, str] | None:
        """(account, role name) the change applies to, when the record names both."""
        if not self.account or not self.role_name:
            return None
        return self.account, self.role_name

    @property
    def sets_trust_policy(self) -> bool:
        return self.kind in (ChangeKind.CREATE, ChangeKind.UPDATE_TRUST)


def parse_role_change(record: dict[str, Any]) -> RoleChange | None:
    """A RoleChange for a successful IAM role-change record; None for anything else."""
    if record.get("eventSource") != IAM_SOURCE or record.get("errorCode"):
        return None
    try:
        kind = ChangeKind(str(record.get("eventName")))
    except ValueError:
        return None
    try:
        event_time = parse_event_time(record.get("eventTime"))
    except RecordRejected:
        return None
    request = _mapping(record.get("requestParameters"))
    role = _mapping(_mapping(record.get("responseElements")).get("role"))
    name = _text(request.get("roleName")) or _text(role.get("roleName"))
    account = _account(record, role)
    identity = _mapping(record.get("userIdentity"))
    return RoleChange(
        kind=kind,
        event_id=_text(record.get("eventID")) or f"{kind.value}@{event_time.isoformat()}",
        event_time=event_time,
        account=account,
        role_name=name,
        role_arn=_text(role.get("arn")) or _role_arn(account, request, name),
        path=_text(request.get("path")) or _text(role.get("path")),
        trust_policy=_trust_policy(request, role),
        tags=_tags(request.get("tags")),
        tag_keys=tuple(str(key) for key in _list(request.get("tagKeys")) if key),
        create_date=_text(role.get("createDate")),
        caller=_caller(identity),
        source_ip=_text(record.get("sourceIPAddress")),
        user_agent=_text(record.get("userAgent")),
        aws_region=_text(record.get("awsRegion")),
    )


def _trust_policy(request: dict[str, Any], role: dict[str, Any]) -> dict[str, Any] | None:
    """The request's policy text; the response's URL-encoded copy when the request lacks it."""
    for value in (
        request.get("policyDocument"),
        request.get("assumeRolePolicyDocument"),
        role.get("assumeRolePolicyDocument"),
    ):
        document = _document(value)
        if document is not None:
            return document
    return None


def _document(value: Any) -> dict[str, Any] | None:
    """Plain JSON text first: URL-decoding it blindly would mangle a literal ``%`` in a value."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return policy_document(value)
        return parsed if isinstance(parsed, dict) else None
    return policy_document(value)


def _tags(value: Any) -> dict[str, str]:
    """CloudTrail writes ``[{"key", "value"}]``; the API's ``Key``/``Value`` is accepted too."""
    tags: dict[str, str] = {}
    for item in _list(value):
        if not isinstance(item, dict):
            continue
        key = item.get("key", item.get("Key"))
        if key is not None:
            tags[str(key)] = str(item.get("value", item.get("Value", "")))
    return tags


def _account(record: dict[str, Any], role: dict[str, Any]) -> str | None:
    """IAM is global: the record lands in the role's account (``recipientAccountId``)."""
    arn = _text(role.get("arn"))
    if arn and arn.count(":") >= 5:
        return arn.split(":")[4]
    recipient = _text(record.get("recipientAccountId"))
    if recipient:
        return recipient
    return _text(_mapping(record.get("userIdentity")).get("accountId"))


def _role_arn(account: str | None, request: dict[str, Any], name: str | None) -> str | None:
    if not account or not name:
        return None
    path = _text(request.get("path")) or "/"
    return f"arn:aws:iam::{account}:role{path if path.endswith('/') else path + '/'}{name}"


def _caller(identity: dict[str, Any]) -> Caller:
    issuer = _mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    return Caller(
        identity_type=_text(identity.get("type")) or "Unknown",
        arn=_text(identity.get("arn")),
        account_id=_text(identity.get("accountId")),
        principal_id=_text(identity.get("principalId")),
        user_name=_text(identity.get("userName")),
        session_issuer_arn=_text(issuer.get("arn")),
        session_issuer_account=_text(issuer.get("accountId")),
        invoked_by=_text(identity.get("invokedBy")),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 2048) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:limit]
    return None
