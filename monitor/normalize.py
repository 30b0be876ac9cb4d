"""CloudTrail record (a dict) → :class:`RoleEvent`, or None when the record is out of scope.

Raises :class:`RecordRejected` with a reason from a small fixed set when a record that claims to
be in scope cannot be read; the reason becomes a metric label, the detail stays in the dead letter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from monitor.events import Caller, Copy, Federation, RoleEvent
from monitor.text import clean

IN_SCOPE = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "AssumeRoot",
        "GetFederationToken",
        "GetSessionToken",
    }
)
STS_SOURCE = "sts.amazonaws.com"

_ROLE_IN_MESSAGE = re.compile(r"(arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)")
_ACCOUNT = re.compile(r"^\d{12}$")
_EXPIRATION_FORMATS = ("%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p")
_ID_LIMIT = 256
_ARN_LIMIT = 2048


class RecordRejected(Exception):
    """A record in scope that cannot be read. ``reason`` is a bounded metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def in_scope(record: dict[str, Any]) -> bool:
    name = record.get("eventName")
    return record.get("eventSource") == STS_SOURCE and isinstance(name, str) and name in IN_SCOPE


def normalize(record: dict[str, Any], envelope: str = "bare") -> RoleEvent | None:
    """Read one CloudTrail record; None when it is not an STS role-assumption-family call."""
    if not in_scope(record):
        return None
    identity = record.get("userIdentity")
    if identity is not None and not isinstance(identity, dict):
        raise RecordRejected("bad_field_type", "userIdentity is not an object")
    request = _mapping(record, "requestParameters")
    response = _mapping(record, "responseElements")
    caller = _caller(identity or {})
    event_name = str(record["eventName"])
    target = _text(request.get("targetPrincipal"), _ID_LIMIT)
    if event_name == "AssumeRoot":
        # The "role" of AssumeRoot is the member account's root user.
        role_arn = f"arn:aws:iam::{target}:root" if target and _ACCOUNT.match(target) else None
    else:
        role_arn = _role_arn(record, request)
    assumed = _mapping(response, "assumedRoleUser")
    credentials = _mapping(response, "credentials")
    return RoleEvent(
        event_id=_required_id(record, "eventID"),
        shared_event_id=_text(record.get("sharedEventID"), _ID_LIMIT),
        request_id=_text(record.get("requestID"), _ID_LIMIT),
        event_time=parse_event_time(record.get("eventTime")),
        event_name=event_name,
        aws_region=_text(record.get("awsRegion"), 64),
        recipient_account_id=_text(record.get("recipientAccountId"), 32),
        source_ip=_text(record.get("sourceIPAddress"), 128),
        user_agent=_text(record.get("userAgent"), 512),
        error_code=_text(record.get("errorCode"), 128),
        error_message=_text(record.get("errorMessage"), 1024),
        caller=caller,
        copy_kind=Copy.OWNER if caller.identity_type == "AWSAccount" else Copy.CALLER,
        role_arn=role_arn,
        role_account=_account_of(role_arn) or _owner_account(event_name, target, caller),
        role_session_name=_text(request.get("roleSessionName"), 128),
        external_id_present=bool(request.get("externalId")),
        mfa_serial_present=bool(request.get("serialNumber")),
        duration_seconds=_int(request.get("durationSeconds")),
        source_identity=_text(
            request.get("sourceIdentity") or response.get("sourceIdentity"), _ID_LIMIT
        ),
        federation=_federation(event_name, identity or {}, request, response),
        assumed_role_arn=_text(assumed.get("arn"), _ARN_LIMIT),
        assumed_role_id=_text(assumed.get("assumedRoleId"), _ID_LIMIT),
        issued_access_key_id=_text(credentials.get("accessKeyId"), 128),
        credentials_expiration=_expiration(credentials.get("expiration")),
        target_principal=target,
        task_policy_arn=_task_policy(request),
        envelope=envelope,
    )


def parse_event_time(value: object) -> datetime:
    """CloudTrail ``eventTime`` (RFC 3339; also the space-separated form some tools write)."""
    if not isinstance(value, str):
        raise RecordRejected("bad_event_time", f"eventTime is {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise RecordRejected("bad_event_time", f"eventTime {clean(value, 64)!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _caller(identity: dict[str, Any]) -> Caller:
    context = identity.get("sessionContext")
    context = context if isinstance(context, dict) else {}
    issuer = context.get("sessionIssuer")
    issuer = issuer if isinstance(issuer, dict) else {}
    attributes = context.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    return Caller(
        identity_type=_text(identity.get("type"), 64) or "Unknown",
        arn=_text(identity.get("arn"), _ARN_LIMIT),
        account_id=_text(identity.get("accountId"), 32),
        principal_id=_text(identity.get("principalId"), _ARN_LIMIT),
        user_name=_text(identity.get("userName"), _ARN_LIMIT),
        access_key_id=_text(identity.get("accessKeyId"), 128),
        session_issuer_arn=_text(issuer.get("arn"), _ARN_LIMIT),
        session_issuer_account=_text(issuer.get("accountId"), 32),
        session_issuer_type=_text(issuer.get("type"), 64),
        session_created=_optional_time(attributes.get("creationDate")),
        mfa_authenticated=_bool(attributes.get("mfaAuthenticated")),
        source_identity=_text(context.get("sourceIdentity"), _ID_LIMIT),
        invoked_by=_text(identity.get("invokedBy"), 256),
        identity_provider=_text(identity.get("identityProvider"), _ARN_LIMIT),
        assumed_root=_bool(context.get("assumedRoot")) is True,
    )


def _federation(
    event_name: str,
    identity: dict[str, Any],
    request: dict[str, Any],
    response: dict[str, Any],
) -> Federation | None:
    if event_name == "AssumeRoleWithSAML":
        return Federation(
            kind="saml",
            provider=_text(request.get("principalArn"), _ARN_LIMIT),
            subject=_text(response.get("subject") or identity.get("userName"), _ARN_LIMIT),
            subject_type=_text(response.get("subjectType"), 128),
            audience=_text(response.get("audience"), _ARN_LIMIT),
            issuer=_text(response.get("issuer"), _ARN_LIMIT),
        )
    if event_name == "AssumeRoleWithWebIdentity":
        provider = response.get("provider") or identity.get("identityProvider")
        return Federation(
            kind="web_identity",
            provider=_text(provider or request.get("providerId"), _ARN_LIMIT),
            subject=_text(
                response.get("subjectFromWebIdentityToken") or identity.get("userName"),
                _ARN_LIMIT,
            ),
            audience=_text(response.get("audience"), _ARN_LIMIT),
        )
    return None


def _role_arn(record: dict[str, Any], request: dict[str, Any]) -> str | None:
    """The target role: request, then ``resources`` (``ARN`` or ``arn``), then errorMessage."""
    arn = request.get("roleArn")
    if isinstance(arn, str) and arn:
        return clean(arn, _ARN_LIMIT)
    resources = record.get("resources")
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and resource.get("type") == "AWS::IAM::Role":
            found = resource.get("ARN") or resource.get("arn")
            if isinstance(found, str) and found:
                return clean(found, _ARN_LIMIT)
    message = record.get("errorMessage")
    match = _ROLE_IN_MESSAGE.search(message) if isinstance(message, str) else None
    return match.group(1) if match else None


def _owner_account(event_name: str, target: str | None, caller: Caller) -> str | None:
    if event_name == "AssumeRoot":
        return target if target and _ACCOUNT.match(target) else None
    if event_name in {"GetFederationToken", "GetSessionToken"}:
        return caller.account_id
    return None


def _account_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and _ACCOUNT.match(parts[4]) else None


def _task_policy(request: dict[str, Any]) -> str | None:
    policy = request.get("taskPolicyArn")
    if isinstance(policy, dict):
        policy = policy.get("arn")
    return _text(policy, _ARN_LIMIT)


def _mapping(container: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object, or {} when it is null, absent or (hostile input) not an object."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _required_id(record: dict[str, Any], key: str) -> str:
    value = _text(record.get(key), _ID_LIMIT)
    if not value:
        raise RecordRejected("missing_field", f"{key} is missing")
    return value


def _text(value: object, limit: int) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return clean(value, limit)


def _int(value: object) -> int | None:
    try:
        return int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        return None


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def _optional_time(value: object) -> datetime | None:
    try:
        return parse_event_time(value)
    except RecordRejected:
        return None


def _expiration(value: object) -> datetime | None:
    """``credentials.expiration``: text such as ``Jul 30, 2024, 9:46:15 PM`` (both comma forms)."""
    if not isinstance(value, str):
        return None
    fast = _canonical_expiration(value)
    if fast is not None:
        return fast
    for fmt in _EXPIRATION_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return _optional_time(value)


_CANONICAL_EXPIRATION = re.compile(
    r"\s*([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2}) ([AP])M\s*"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _canonical_expiration(value: str) -> datetime | None:
    """The form STS writes, read without ``strptime`` (a tenth of its cost, on every
    assumption); None for anything else, which then takes the general path."""
    match = _CANONICAL_EXPIRATION.fullmatch(value)
    if match is None:
        return None
    month_name, day, year, hour, minute, second, half = match.groups()
    month = _MONTHS.get(month_name)
    hour12 = int(hour)
    if month is None or not 1 <= hour12 <= 12 or int(minute) > 59 or int(second) > 59:
        return None
    hour24 = hour12 % 12 + (12 if half == "P" else 0)
    try:
        return datetime(int(year), month, int(day), hour24, int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
