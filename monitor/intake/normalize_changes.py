"""The in-scope change records → ``RoleChange`` / ``ProviderChange`` / ``OrganizationChange``.

Beside :mod:`monitor.intake.normalize` (which calls it) because reading a change is normalising too:
the same caller parser, the same cleaning, the same rejections for an unreadable time or id.
Only successful calls become events: a failed one changed nothing, so it is skipped (None).
"""

from __future__ import annotations

import hashlib
from typing import Any

from monitor.aws.arns import arn_account, iam_arn, is_account_id, role_arn
from monitor.aws.policy import policy_document
from monitor.intake.events import (
    ChangeKind,
    MembershipChange,
    OrganizationChange,
    ProviderChange,
    RoleChange,
)
from monitor.intake.record_fields import (
    ARN_LIMIT,
    ID_LIMIT,
    identity_of,
    listed,
    mapping,
    origin,
    parse_caller,
    parse_event_time,
    required_id,
    text,
)
from monitor.intake.scope import IAM_SOURCE, ORGANIZATIONS_SOURCE, PROVIDER_CHANGES, ROLE_CHANGES

ChangeEvents = RoleChange | ProviderChange | OrganizationChange

_TAG_LIMIT = 256
_MAX_TAGS = 50
_MAX_CLIENT_IDS = 20


def parse_change(record: dict[str, Any], envelope: str = "bare") -> ChangeEvents | None:
    """The change event of an in-scope IAM or Organizations record; None for anything else."""
    source, name = record.get("eventSource"), record.get("eventName")
    if source == IAM_SOURCE and name in ROLE_CHANGES:
        return parse_role_change(record, envelope)
    if source == IAM_SOURCE and name in PROVIDER_CHANGES:
        return parse_provider_change(record, envelope)
    if source == ORGANIZATIONS_SOURCE:
        return parse_organization_change(record, envelope)
    return None


def _common(record: dict[str, Any], envelope: str) -> dict[str, Any]:
    """Fields of every change event; rejects a record without a readable time or any id.

    A change without ``eventID`` (some exporters drop it) is identified by its ``requestID``:
    unlike an assumption, whose two copies must pair up by id, a change is logged once.
    """
    key = "eventID" if text(record.get("eventID"), ID_LIMIT) else "requestID"
    return {
        "event_id": required_id(record, key),
        "event_time": parse_event_time(record.get("eventTime")),
        "caller": parse_caller(identity_of(record)),
        "envelope": envelope,
        **origin(record),
    }


def _failed(record: dict[str, Any]) -> bool:
    return bool(record.get("errorCode"))


# -- IAM roles ------------------------------------------------------------------------------------


def parse_role_change(record: dict[str, Any], envelope: str = "bare") -> RoleChange | None:
    """A RoleChange for a successful IAM role-change record; None for anything else."""
    if record.get("eventSource") != IAM_SOURCE or _failed(record):
        return None
    try:
        kind = ChangeKind(str(record.get("eventName")))
    except ValueError:
        return None
    common = _common(record, envelope)
    request = mapping(record, "requestParameters")
    role = mapping(mapping(record, "responseElements"), "role")
    name = text(request.get("roleName"), 128) or text(role.get("roleName"), 128)
    account = _role_account(record, role)
    return RoleChange(
        kind=kind,
        **common,
        account=account,
        role_name=name,
        role_arn=text(role.get("arn"), ARN_LIMIT) or _role_arn(account, request, name),
        path=text(request.get("path"), 512) or text(role.get("path"), 512),
        trust_policy=_trust_policy(request, role),
        tags=_tags(request.get("tags")),
        tag_keys=tuple(
            key for item in listed(request.get("tagKeys"))[:_MAX_TAGS] if (key := _tag(item))
        ),
        create_date=text(role.get("createDate"), 64),
    )


def _trust_policy(request: dict[str, Any], role: dict[str, Any]) -> dict[str, Any] | None:
    """The request's policy text; the response's URL-encoded copy when the request lacks it."""
    for value in (
        request.get("policyDocument"),
        request.get("assumeRolePolicyDocument"),
        role.get("assumeRolePolicyDocument"),
    ):
        document = policy_document(value)
        if document is not None:
            return document
    return None


def _tags(value: Any) -> dict[str, str]:
    """CloudTrail writes ``[{"key", "value"}]``; the API's ``Key``/``Value`` is accepted too."""
    tags: dict[str, str] = {}
    for item in listed(value)[:_MAX_TAGS]:
        if not isinstance(item, dict):
            continue
        key = _tag(item.get("key", item.get("Key")))
        if key:
            tags[key] = _tag(item.get("value", item.get("Value", ""))) or ""
    return tags


def _tag(value: Any) -> str | None:
    return None if value is None else text(str(value), _TAG_LIMIT)


def _role_account(record: dict[str, Any], role: dict[str, Any]) -> str | None:
    """IAM is global: the record lands in the role's account (``recipientAccountId``)."""
    arn = text(role.get("arn"), ARN_LIMIT)
    return arn_account(arn) or _account(record)


def _account(record: dict[str, Any]) -> str | None:
    recipient = text(record.get("recipientAccountId"), 32)
    if recipient:
        return recipient
    return text(mapping(record, "userIdentity").get("accountId"), 32)


def _role_arn(account: str | None, request: dict[str, Any], name: str | None) -> str | None:
    if not account or not name:
        return None
    return role_arn(account, name, text(request.get("path"), 512) or "/")


# -- identity providers ---------------------------------------------------------------------------

_ACTIONS = (("Create", "create"), ("Delete", "delete"))


def parse_provider_change(record: dict[str, Any], envelope: str = "bare") -> ProviderChange | None:
    """A ProviderChange for a successful SAML/OIDC provider call; None for a failed one."""
    name = str(record.get("eventName"))
    if _failed(record) or name not in PROVIDER_CHANGES:
        return None
    common = _common(record, envelope)
    request = mapping(record, "requestParameters")
    response = mapping(record, "responseElements")
    saml = "SAML" in name
    account = _account(record)
    arn = _provider_arn(saml, request, response, account)
    action = next((verb for prefix, verb in _ACTIONS if name.startswith(prefix)), "update")
    return ProviderChange(
        **common,
        event_name=name,
        provider_type="saml" if saml else "oidc",
        action=action,
        account=account,
        provider_arn=arn,
        detail=_provider_detail(request),
    )


def _provider_arn(
    saml: bool, request: dict[str, Any], response: dict[str, Any], account: str | None
) -> str | None:
    key = "sAMLProviderArn" if saml else "openIDConnectProviderArn"
    arn = text(request.get(key) or response.get(key), ARN_LIMIT)
    if arn:
        return arn
    if saml:
        name = text(request.get("name"), 128)
        return iam_arn(account, f"saml-provider/{name}") if name and account else None
    url = text(request.get("url"), 512)
    host = url.split("://", 1)[-1].rstrip("/") if url else None
    return iam_arn(account, f"oidc-provider/{host}") if host and account else None


def _provider_detail(request: dict[str, Any]) -> dict[str, Any]:
    """What changed, bounded: client ids, thumbprint count, a digest of the SAML metadata."""
    detail: dict[str, Any] = {}
    clients = [request.get("clientID"), *listed(request.get("clientIDList"))]
    client_ids = [c for item in clients[:_MAX_CLIENT_IDS] if (c := text(item, 256))]
    if client_ids:
        detail["client_ids"] = client_ids
    thumbprints = request.get("thumbprintList")
    if isinstance(thumbprints, list):
        detail["thumbprints"] = len(thumbprints)
    metadata = request.get("sAMLMetadataDocument")
    if isinstance(metadata, str) and metadata:
        digest = hashlib.sha256(metadata.encode("utf-8", "replace")).hexdigest()
        detail["metadata_sha256"] = digest
    url = text(request.get("url"), 512)
    if url:
        detail["url"] = url
    return detail


# -- Organizations membership ---------------------------------------------------------------------


def parse_organization_change(
    record: dict[str, Any], envelope: str = "bare"
) -> OrganizationChange | None:
    """Who joined or left; None for a failed call or one that changed no membership."""
    if _failed(record):
        return None
    name = str(record.get("eventName"))
    found = _membership(name, record)
    if found is None:
        return None
    kind, account, organization = found
    if account is None or not is_account_id(account):
        return None  # nothing to apply; a record naming no account changes no directory
    return OrganizationChange(
        **_common(record, envelope),
        event_name=name,
        kind=kind,
        account=account,
        organization_id=organization,
    )


def _membership(
    name: str, record: dict[str, Any]
) -> tuple[MembershipChange, str | None, str | None] | None:
    request = mapping(record, "requestParameters")
    response = mapping(record, "responseElements")
    if name == "LeaveOrganization":
        # Logged in the leaving account itself.
        return MembershipChange.LEFT, _account(record), None
    if name == "RemoveAccountFromOrganization":
        return MembershipChange.REMOVED, text(request.get("accountId"), 32), None
    if name == "AcceptHandshake":
        return _accepted_invitation(record, mapping(response, "handshake"))
    if name == "CreateAccountResult":
        status = mapping(mapping(record, "serviceEventDetails"), "createAccountStatus")
        if status.get("state") != "SUCCEEDED":
            return None
        return MembershipChange.JOINED, text(status.get("accountId"), 32), None
    return None


def _accepted_invitation(
    record: dict[str, Any], handshake: dict[str, Any]
) -> tuple[MembershipChange, str | None, str | None] | None:
    """An accepted INVITE handshake: the accepting account (the caller's) joined."""
    if handshake.get("action") != "INVITE" or handshake.get("state") not in (None, "ACCEPTED"):
        return None
    parties = [p for p in listed(handshake.get("parties")) if isinstance(p, dict)]
    organization = next(
        (text(p.get("id"), ID_LIMIT) for p in parties if p.get("type") == "ORGANIZATION"), None
    )
    member = next((text(p.get("id"), 32) for p in parties if p.get("type") == "ACCOUNT"), None)
    return MembershipChange.JOINED, member or _account(record), organization
