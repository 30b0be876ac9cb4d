"""CloudTrail record (a dict) → one typed event (``monitor.intake.events.Event``), or None.

The single entry point from raw records to the event model: what is in scope is decided by
:mod:`monitor.intake.scope`; STS assumptions are read here, the changes (IAM roles, identity
providers, Organizations membership) in :mod:`monitor.intake.normalize_changes`, and every caller
by the one parser in :mod:`monitor.intake.record_fields`, which cleans every text it reads.

Raises :class:`RecordRejected` with a reason from a small fixed set when a record that claims to
be in scope cannot be read; the reason becomes a metric label, the detail stays in the dead letter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from monitor.aws.arns import arn_account, iam_arn, is_account_id
from monitor.aws.principals import IdentityType
from monitor.intake.events import Caller, Copy, Event, Federation, RoleEvent
from monitor.intake.normalize_changes import parse_change
from monitor.intake.normalize_identity import parse_identity_change, session_tags, transitive_keys
from monitor.intake.record_fields import ARN_LIMIT as _ARN_LIMIT
from monitor.intake.record_fields import ID_LIMIT as _ID_LIMIT
from monitor.intake.record_fields import (
    RecordRejected,
    identity_of,
    optional_time,
    origin,
    parse_caller,
    parse_event_time,
    required_id,
)
from monitor.intake.record_fields import integer as _int
from monitor.intake.record_fields import mapping as _mapping
from monitor.intake.record_fields import text as _text
from monitor.intake.scope import ASSUMPTIONS, STS_SOURCE, in_scope
from monitor.intake.text import clean

__all__ = ["RecordRejected", "in_scope", "normalize", "normalize_assumption", "parse_event_time"]

#: Kept for readers of the old name: the STS calls in scope.
IN_SCOPE = ASSUMPTIONS

_ROLE_IN_MESSAGE = re.compile(r"(arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+)")
_EXPIRATION_FORMATS = ("%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p")


def normalize(record: dict[str, Any], envelope: str = "bare") -> Event | None:
    """The typed event of one record; None when it is out of scope or changed nothing."""
    if not in_scope(record):
        return None
    if record.get("eventSource") == STS_SOURCE:
        return normalize_assumption(record, envelope)
    return parse_change(record, envelope) or parse_identity_change(record, envelope)


def normalize_assumption(record: dict[str, Any], envelope: str = "bare") -> RoleEvent:
    """Read one STS role-assumption-family record (already known to be in scope)."""
    identity = identity_of(record)
    request = _mapping(record, "requestParameters")
    response = _mapping(record, "responseElements")
    caller = parse_caller(identity)
    event_name = str(record["eventName"])
    target = _text(request.get("targetPrincipal"), _ID_LIMIT)
    if event_name == "AssumeRoot":
        # The "role" of AssumeRoot is the member account's root user.
        role_arn = iam_arn(target, "root") if target and is_account_id(target) else None
    else:
        role_arn = _role_arn(record, request)
    assumed = _mapping(response, "assumedRoleUser")
    credentials = _mapping(response, "credentials")
    return RoleEvent(
        event_id=required_id(record, "eventID"),
        shared_event_id=_text(record.get("sharedEventID"), _ID_LIMIT),
        request_id=_text(record.get("requestID"), _ID_LIMIT),
        event_time=parse_event_time(record.get("eventTime")),
        event_name=event_name,
        recipient_account_id=_text(record.get("recipientAccountId"), 32),
        **origin(record),
        error_code=_text(record.get("errorCode"), 128),
        error_message=_text(record.get("errorMessage"), 1024),
        caller=caller,
        copy_kind=Copy.OWNER if caller.identity_type == IdentityType.AWS_ACCOUNT else Copy.CALLER,
        role_arn=role_arn,
        role_account=arn_account(role_arn) or _owner_account(event_name, target, caller),
        role_session_name=_text(request.get("roleSessionName"), 128),
        external_id_present=bool(request.get("externalId")),
        mfa_serial_present=bool(request.get("serialNumber")),
        duration_seconds=_int(request.get("durationSeconds")),
        source_identity=_text(
            request.get("sourceIdentity") or response.get("sourceIdentity"), _ID_LIMIT
        ),
        federation=_federation(event_name, identity, request, response),
        assumed_role_arn=_text(assumed.get("arn"), _ARN_LIMIT),
        assumed_role_id=_text(assumed.get("assumedRoleId"), _ID_LIMIT),
        issued_access_key_id=_text(credentials.get("accessKeyId"), 128),
        credentials_expiration=_expiration(credentials.get("expiration")),
        target_principal=target,
        task_policy_arn=_task_policy(request),
        envelope=envelope,
        session_tags=session_tags(request),
        transitive_tag_keys=transitive_keys(request),
        vpc_endpoint_id=_text(record.get("vpcEndpointId"), 128),
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
        return target if target and is_account_id(target) else None
    if event_name in {"GetFederationToken", "GetSessionToken"}:
        return caller.account_id
    return None


def _task_policy(request: dict[str, Any]) -> str | None:
    policy = request.get("taskPolicyArn")
    if isinstance(policy, dict):
        policy = policy.get("arn")
    return _text(policy, _ARN_LIMIT)


def _expiration(value: object) -> datetime | None:
    """``credentials.expiration``: text such as ``Jul 30, 2024, 9:46:15 PM`` (both comma forms)."""
    if not isinstance(value, str):
        return None
    if type(value) is str and len(value) <= _EXPIRATION_KEY_LIMIT:
        return _remembered_expiration(value)
    return _read_expiration(value)


#: Expirations remembered (issue 24): sessions issued in the same second expire together.
_EXPIRATION_CACHE_SIZE = 1024
_EXPIRATION_KEY_LIMIT = 64


@lru_cache(maxsize=_EXPIRATION_CACHE_SIZE)
def _remembered_expiration(value: str) -> datetime | None:
    return _read_expiration(value)


def _read_expiration(value: str) -> datetime | None:
    fast = _canonical_expiration(value)
    if fast is not None:
        return fast
    for fmt in _EXPIRATION_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return optional_time(value)


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
