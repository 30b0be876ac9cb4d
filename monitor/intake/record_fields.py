"""Reading fields of a raw CloudTrail record: the one caller parser, text always cleaned.

Every value read here may be attacker-controlled (user agents, session names, tag values), so
text is bounded and made printable (:func:`monitor.intake.text.clean`) on the way in, once, for
every kind of event; nothing downstream has to remember to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from monitor.intake.events import Caller
from monitor.intake.text import clean

ID_LIMIT = 256
ARN_LIMIT = 2048


class RecordRejected(Exception):
    """A record in scope that cannot be read. ``reason`` is a bounded metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


#: Event times remembered (issue 24): records arrive in time order, many to the second.
TIME_CACHE_SIZE = 1024
_TIME_KEY_LIMIT = 64


def parse_event_time(value: object) -> datetime:
    """CloudTrail ``eventTime`` (RFC 3339; also the space-separated form some tools write)."""
    if type(value) is str and len(value) <= _TIME_KEY_LIMIT:
        return _remembered_time(value)  # a str subclass or a long text is read uncached below
    return _read_time(value)


@lru_cache(maxsize=TIME_CACHE_SIZE)
def _remembered_time(value: str) -> datetime:
    return _read_time(value)  # a rejection raises and is not remembered


def _read_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise RecordRejected("bad_event_time", f"eventTime is {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise RecordRejected("bad_event_time", f"eventTime {clean(value, 64)!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_time(value: object) -> datetime | None:
    if value is None:
        return None  # most callers carry no creationDate: no exception raised and caught
    try:
        return parse_event_time(value)
    except RecordRejected:
        return None


def identity_of(record: dict[str, Any]) -> dict[str, Any]:
    """``userIdentity`` as an object; absent or null is an unknown caller, anything else bad."""
    identity = record.get("userIdentity")
    if identity is not None and not isinstance(identity, dict):
        raise RecordRejected("bad_field_type", "userIdentity is not an object")
    return identity or {}


#: Distinct callers remembered (issue 24): a caller's identity repeats from call to call (a
#: service, a person, a session), so it is read, cleaned and built once. Bounded in entries and,
#: since every value is attacker-controlled, in characters per key: a longer one is read uncached.
CALLER_CACHE_SIZE = 8192
CALLER_KEY_LIMIT = 2048


def parse_caller(identity: dict[str, Any]) -> Caller:
    """Who made the call: the same reading for assumptions and changes alike."""
    context = mapping(identity, "sessionContext")
    issuer = mapping(context, "sessionIssuer")
    attributes = mapping(context, "attributes")
    values = (
        identity.get("type"),
        identity.get("arn"),
        identity.get("accountId"),
        identity.get("principalId"),
        identity.get("userName"),
        identity.get("accessKeyId"),
        issuer.get("arn"),
        issuer.get("accountId"),
        issuer.get("type"),
        attributes.get("creationDate"),
        attributes.get("mfaAuthenticated"),
        context.get("sourceIdentity"),
        identity.get("invokedBy"),
        identity.get("identityProvider"),
        context.get("assumedRoot"),
    )
    return _remembered_caller(values) if _cacheable(values) else _read_caller(values)


def _cacheable(values: tuple[object, ...]) -> bool:
    """Only text (or null) keys, short ones: ``1 == True == 1.0`` would let differently typed
    values share an entry, and an attacker's megabyte of text must not be kept."""
    size = 0
    for value in values:
        if value is not None:
            if type(value) is not str:
                return False
            size += len(value)
    return size <= CALLER_KEY_LIMIT


@lru_cache(maxsize=CALLER_CACHE_SIZE)
def _remembered_caller(values: tuple[str | None, ...]) -> Caller:
    return _read_caller(values)


def _read_caller(values: tuple[Any, ...]) -> Caller:
    (kind, arn, account, principal, user, key, issuer_arn, issuer_account, issuer_type) = values[:9]
    (created, mfa, source_identity, invoked_by, provider, assumed_root) = values[9:]
    return Caller(
        identity_type=text(kind, 64) or "Unknown",
        arn=text(arn, ARN_LIMIT),
        account_id=text(account, 32),
        principal_id=text(principal, ARN_LIMIT),
        user_name=text(user, ARN_LIMIT),
        access_key_id=text(key, 128),
        session_issuer_arn=text(issuer_arn, ARN_LIMIT),
        session_issuer_account=text(issuer_account, 32),
        session_issuer_type=text(issuer_type, 64),
        session_created=optional_time(created),
        mfa_authenticated=boolean(mfa),
        source_identity=text(source_identity, ID_LIMIT),
        invoked_by=text(invoked_by, 256),
        identity_provider=text(provider, ARN_LIMIT),
        assumed_root=boolean(assumed_root) is True,
    )


def origin(record: dict[str, Any]) -> dict[str, Any]:
    """Where a call came from: the fields every event type carries, cleaned."""
    return {
        "source_ip": text(record.get("sourceIPAddress"), 128),
        "user_agent": text(record.get("userAgent"), 512),
        "aws_region": text(record.get("awsRegion"), 64),
    }


def mapping(container: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object, or {} when it is null, absent or (hostile input) not an object."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def required_id(record: dict[str, Any], key: str) -> str:
    value = text(record.get(key), ID_LIMIT)
    if not value:
        raise RecordRejected("missing_field", f"{key} is missing")
    return value


def text(value: object, limit: int) -> str | None:
    """A scalar as bounded printable text; None for null, empty, objects and lists."""
    if type(value) is str:
        # The common case, ~30 fields per record: short printable text is already clean.
        if len(value) <= limit and value.isprintable():
            return value or None
        return clean(value, limit) if value else None
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return clean(value, limit)


def integer(value: object) -> int | None:
    try:
        return int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        return None


def boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None
