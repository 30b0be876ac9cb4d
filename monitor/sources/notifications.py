"""SQS message bodies → the S3 objects they announce, whatever way they came.

Recognised without configuration, as the bucket's owner may have wired it any of these ways:

- an S3 event notification sent to the queue directly (``{"Records": [{"s3": ...}]}``; keys
  arrive URL-encoded, ``+`` for a space);
- the same wrapped by SNS (``{"Type": "Notification", "Message": "<the S3 event as text>"}``,
  raw message delivery off);
- an EventBridge ``Object Created`` event (``{"source": "aws.s3", "detail": ...}``; keys plain);
- CloudTrail's own log-delivery notification (``{"s3Bucket": ..., "s3ObjectKey": [...]}``).

S3's ``s3:TestEvent`` and events that are not object creations announce nothing (an empty
list); anything else is a :class:`BadNotification` with a short reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson

#: SNS inside SNS inside ... is not a thing: a body nested deeper is refused.
MAX_WRAPPING = 3


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One announced object."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class BadNotification(ValueError):
    """A body this module cannot read; ``str()`` is one line."""


def announced(body: str | bytes) -> list[ObjectRef]:
    """The objects one SQS message announces, in the order it lists them."""
    return _parse(body, depth=0)


def _parse(body: str | bytes, depth: int) -> list[ObjectRef]:
    if depth > MAX_WRAPPING:
        raise BadNotification("notification wrapped too deeply")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadNotification(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadNotification("not a JSON object")
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        return _parse(document["Message"], depth + 1)
    if document.get("source") == "aws.s3" and isinstance(document.get("detail"), dict):
        return _eventbridge(document)
    if "Records" in document:
        return _s3_event(document["Records"])
    if "s3Bucket" in document:
        return _cloudtrail(document)
    if document.get("Event") == "s3:TestEvent":
        return []
    raise BadNotification("not an S3, SNS, EventBridge or CloudTrail notification")


def _s3_event(records: Any) -> list[ObjectRef]:
    if not isinstance(records, list):
        raise BadNotification("Records is not a list")
    found = []
    for record in records:
        name = _text(record, "eventName")
        if not name.startswith("ObjectCreated:"):
            continue  # deletions, restores, replication events: nothing new to read
        s3 = record.get("s3") if isinstance(record, dict) else None
        bucket = _text(_mapping(s3, "bucket"), "name")
        key = _text(_mapping(s3, "object"), "key")
        found.append(ObjectRef(bucket, unquote_plus(key)))
    return found


def _eventbridge(document: dict[str, Any]) -> list[ObjectRef]:
    if document.get("detail-type") != "Object Created":
        return []
    detail = document["detail"]
    return [
        ObjectRef(
            _text(_mapping(detail, "bucket"), "name"), _text(_mapping(detail, "object"), "key")
        )
    ]


def _cloudtrail(document: dict[str, Any]) -> list[ObjectRef]:
    bucket = _text(document, "s3Bucket")
    keys = document.get("s3ObjectKey")
    if not isinstance(keys, list) or not all(isinstance(key, str) and key for key in keys):
        raise BadNotification("s3ObjectKey is not a list of keys")
    return [ObjectRef(bucket, key) for key in keys]


def _mapping(value: Any, name: str) -> dict[str, Any]:
    inner = value.get(name) if isinstance(value, dict) else None
    if not isinstance(inner, dict):
        raise BadNotification(f"{name} missing or not an object")
    return inner


def _text(value: Any, name: str) -> str:
    inner = value.get(name) if isinstance(value, dict) else None
    if not isinstance(inner, str) or not inner:
        raise BadNotification(f"{name} missing or not a string")
    return inner
