"""Identity paths beside IAM → ``IdentityChange``; session tags of an assumption.

Roles Anywhere, Identity Center (permission sets, the identity store) and EKS Pod Identity each
decide who gets a role session without touching a trust policy. Their calls are read here with
the same caller parser, cleaning and rejections as every other change; only successful calls
become events (a failed one changed nothing).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from monitor.intake.events import IdentityChange, IdentityService
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
from monitor.intake.scope import (
    EKS_SOURCE,
    IDENTITY_STORE_SOURCE,
    ROLES_ANYWHERE_SOURCE,
    SSO_SOURCE,
)

_SERVICES = {
    ROLES_ANYWHERE_SOURCE: IdentityService.ROLES_ANYWHERE,
    SSO_SOURCE: IdentityService.IDENTITY_CENTER,
    IDENTITY_STORE_SOURCE: IdentityService.IDENTITY_STORE,
    EKS_SOURCE: IdentityService.POD_IDENTITY,
}
_VERBS = (
    ("Create", "create"),
    ("Update", "update"),
    ("Enable", "enable"),
    ("Attach", "attach"),
    ("Put", "attach"),
)
_TAG_LIMIT = 256
_MAX_TAGS = 50
_NAME_LIMIT = 256
#: IAM's own limit on an inline policy is 10,240 characters; anything longer is not read.
_POLICY_LIMIT = 32_768


def parse_identity_change(record: dict[str, Any], envelope: str = "bare") -> IdentityChange | None:
    """The IdentityChange of a successful in-scope call of those services; None otherwise."""
    service = _SERVICES.get(str(record.get("eventSource")))
    if service is None or record.get("errorCode"):
        return None
    name = str(record.get("eventName"))
    request = mapping(record, "requestParameters")
    response = mapping(record, "responseElements")
    key = "eventID" if text(record.get("eventID"), ID_LIMIT) else "requestID"
    action = "assign" if name == "CreateAccountAssignment" else _verb(name)
    return IdentityChange(
        event_id=required_id(record, key),
        event_time=parse_event_time(record.get("eventTime")),
        caller=parse_caller(identity_of(record)),
        envelope=envelope,
        **origin(record),
        event_name=name,
        service=service,
        action=action,
        account=text(record.get("recipientAccountId"), 32),
        resource=_resource(request, response),
        role_arn=text(request.get("roleArn"), ARN_LIMIT),
        detail=_detail(request, response),
    )


def _verb(name: str) -> str:
    return next((verb for prefix, verb in _VERBS if name.startswith(prefix)), "update")


def _resource(request: dict[str, Any], response: dict[str, Any]) -> str | None:
    """The ARN (or id) of what changed, from the response first: it names what was created."""
    for holder, keys in (
        (mapping(response, "trustAnchor"), ("trustAnchorArn",)),
        (mapping(response, "profile"), ("profileArn",)),
        (mapping(response, "permissionSet"), ("permissionSetArn",)),
        (mapping(response, "association"), ("associationArn",)),
        (request, ("permissionSetArn", "trustAnchorId", "profileId", "associationId")),
        (response, ("userId", "groupId", "membershipId")),
    ):
        for key in keys:
            found = text(holder.get(key), ARN_LIMIT)
            if found:
                return found
    return None


def _detail(request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """What on-call needs to judge the change, bounded; never a document or a certificate."""
    assignment = mapping(response, "accountAssignmentCreationStatus")
    detail: dict[str, Any] = {
        "name": text(request.get("name"), _NAME_LIMIT)
        or text(mapping(response, "permissionSet").get("name"), _NAME_LIMIT),
        "user_name": text(request.get("userName"), _NAME_LIMIT),
        "display_name": text(request.get("displayName"), _NAME_LIMIT),
        "managed_policy_arn": text(request.get("managedPolicyArn"), ARN_LIMIT),
        "customer_managed_policy": text(
            mapping(request, "customerManagedPolicyReference").get("name"), _NAME_LIMIT
        ),
        "inline_policy_sha256": _digest(request.get("inlinePolicy")),
        "inline_policy_admin": _allows_everything(request.get("inlinePolicy")) or None,
        "session_duration": text(request.get("sessionDuration"), 32),
        "permission_set_arn": text(request.get("permissionSetArn"), ARN_LIMIT)
        or text(assignment.get("permissionSetArn"), ARN_LIMIT),
        "target_account": text(request.get("targetId"), 32) or text(assignment.get("targetId"), 32),
        "principal_type": text(request.get("principalType"), 32),
        "principal_id": text(request.get("principalId"), ID_LIMIT),
        "cluster": text(request.get("clusterName"), _NAME_LIMIT),
        "namespace": text(request.get("namespace"), _NAME_LIMIT),
        "service_account": text(request.get("serviceAccount"), _NAME_LIMIT),
        "role_arns": [
            arn for item in listed(request.get("roleArns"))[:20] if (arn := text(item, ARN_LIMIT))
        ],
        **_anchor_source(request),
    }
    return {key: value for key, value in detail.items() if value not in (None, [], "")}


def _anchor_source(request: dict[str, Any]) -> dict[str, Any]:
    """A trust anchor's CA: its kind and a digest of an uploaded certificate bundle."""
    source = mapping(request, "source")
    if not source:
        return {}
    data = mapping(source, "sourceData")
    return {
        "ca_source_type": text(source.get("sourceType"), 64),
        "ca_certificate_sha256": _digest(data.get("x509CertificateData")),
        "ca_arn": text(data.get("acmPcaArn"), ARN_LIMIT),
    }


def _allows_everything(value: Any) -> bool:
    """True when a policy text has an Allow of every action on every resource."""
    if not isinstance(value, str) or len(value) > _POLICY_LIMIT:
        return False
    try:
        document = json.loads(value)
    except ValueError:
        return False
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return any(
        isinstance(s, dict)
        and s.get("Effect") == "Allow"
        and _star(s.get("Action"))
        and _star(s.get("Resource"))
        for s in listed(statements)
    )


def _star(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(v in ("*", "*:*") for v in values)


def _digest(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def session_tags(request: dict[str, Any]) -> dict[str, str]:
    """``tags`` of an AssumeRole (``[{"key", "value"}]``, ``Key``/``Value`` accepted) and
    ``principalTags`` when a service writes them as a mapping; bounded."""
    if "tags" not in request and "principalTags" not in request:
        return {}  # most assumptions: no tags
    tags: dict[str, str] = {}
    for item in listed(request.get("tags"))[:_MAX_TAGS]:
        if isinstance(item, dict):
            key = text(_str(item.get("key", item.get("Key"))), _TAG_LIMIT)
            if key:
                tags[key] = text(_str(item.get("value", item.get("Value"))), _TAG_LIMIT) or ""
    principal = mapping(request, "principalTags")
    for key, value in list(principal.items())[: _MAX_TAGS - len(tags)]:
        name = text(_str(key), _TAG_LIMIT)
        if name:
            tags[name] = text(_str(value), _TAG_LIMIT) or ""
    return tags


def transitive_keys(request: dict[str, Any]) -> tuple[str, ...]:
    if "transitiveTagKeys" not in request:
        return ()
    items = listed(request.get("transitiveTagKeys"))[:_MAX_TAGS]
    return tuple(key for item in items if (key := text(_str(item), _TAG_LIMIT)))


def _str(value: Any) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)
