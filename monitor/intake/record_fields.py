"""Reading fields of a raw CloudTrail record: the one caller parser, text always cleaned.

Every value read here may be attacker-controlled (user agents, session names, tag values), so
text is bounded and made printable (:func:`monitor.intake.text.clean`) on the way in, once, for
every kind of event; nothing downstream has to remember to.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def parse_event_time(value: object) -> datetime:
    """CloudTrail ``eventTime`` (RFC 3339; also the space-separated form some tools write)."""
    if not isinstance(value, str):
        raise RecordRejected("bad_event_time", f"eventTime is {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        raise RecordRejected("bad_event_time", f"eventTime {clean(value, 64)!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def optional_time(value: object) -> datetime | None:
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


def parse_caller(identity: dict[str, Any]) -> Caller:
    """Who made the call: the same reading for assumptions and changes alike."""
    context = mapping(identity, "sessionContext")
    issuer = mapping(context, "sessionIssuer")
    attributes = mapping(context, "attributes")
    return Caller(
        identity_type=text(identity.get("type"), 64) or "Unknown",
        arn=text(identity.get("arn"), ARN_LIMIT),
        account_id=text(identity.get("accountId"), 32),
        principal_id=text(identity.get("principalId"), ARN_LIMIT),
        user_name=text(identity.get("userName"), ARN_LIMIT),
        access_key_id=text(identity.get("accessKeyId"), 128),
        session_issuer_arn=text(issuer.get("arn"), ARN_LIMIT),
        session_issuer_account=text(issuer.get("accountId"), 32),
        session_issuer_type=text(issuer.get("type"), 64),
        session_created=optional_time(attributes.get("creationDate")),
        mfa_authenticated=boolean(attributes.get("mfaAuthenticated")),
        source_identity=text(context.get("sourceIdentity"), ID_LIMIT),
        invoked_by=text(identity.get("invokedBy"), 256),
        identity_provider=text(identity.get("identityProvider"), ARN_LIMIT),
        assumed_root=boolean(context.get("assumedRoot")) is True,
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
