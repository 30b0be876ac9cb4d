"""OCSF API Activity (class 6003, as Amazon Security Lake writes CloudTrail) → CloudTrail shape.

The mapping follows Security Lake's ``CLOUD_TRAIL_MGMT`` 2.0 ↔ OCSF 1.1.0 source; fields it does
not carry stay absent, and the normaliser treats them as optional.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

OCSF_API_ACTIVITY = 6003


def is_ocsf_api_activity(document: dict[str, Any]) -> bool:
    return document.get("class_uid") == OCSF_API_ACTIVITY


def ocsf_to_cloudtrail(document: dict[str, Any]) -> dict[str, Any]:
    """A CloudTrail-shaped record rebuilt from an OCSF API Activity record."""
    api = _obj(document, "api")
    actor = _obj(document, "actor")
    user = _obj(actor, "user")
    session = _obj(actor, "session")
    metadata = _obj(document, "metadata")
    unmapped = _obj(document, "unmapped")
    record: dict[str, Any] = {
        "eventVersion": _obj(metadata, "product").get("version"),
        "eventSource": _obj(api, "service").get("name"),
        "eventName": api.get("operation"),
        "eventID": metadata.get("uid"),
        "requestID": _obj(api, "request").get("uid"),
        "eventTime": _time(document.get("time")),
        "awsRegion": _obj(document, "cloud").get("region"),
        "sourceIPAddress": _obj(document, "src_endpoint").get("ip"),
        "userAgent": _obj(document, "http_request").get("user_agent"),
        "recipientAccountId": _obj(_obj(document, "cloud"), "account").get("uid"),
        "userIdentity": _identity(user, session, actor),
        "requestParameters": _json_field(_obj(api, "request").get("data"))
        or _json_field(unmapped.get("requestParameters")),
        "responseElements": _json_field(_obj(api, "response").get("data"))
        or _json_field(unmapped.get("responseElements")),
        "sharedEventID": unmapped.get("sharedEventID"),
        "resources": _resources(document.get("resources")),
    }
    error = _obj(api, "response").get("error")
    if error:
        record["errorCode"] = error
        record["errorMessage"] = _obj(api, "response").get("message")
    return {key: value for key, value in record.items() if value is not None}


def _identity(user: dict[str, Any], session: dict[str, Any], actor: dict[str, Any]) -> dict:
    identity: dict[str, Any] = {
        "type": user.get("type"),
        "arn": user.get("uid"),
        "principalId": user.get("uid_alt"),
        "accountId": _obj(user, "account").get("uid"),
        "accessKeyId": user.get("credential_uid"),
        "userName": user.get("name"),
        "invokedBy": actor.get("invoked_by"),
        "identityProvider": _obj(actor, "idp").get("name"),
    }
    if session:
        identity["sessionContext"] = {
            "sessionIssuer": {"arn": session.get("issuer")},
            "attributes": {
                "mfaAuthenticated": str(session.get("is_mfa")).lower()
                if session.get("is_mfa") is not None
                else None,
                "creationDate": _time(session.get("created_time")),
            },
        }
    return {key: value for key, value in identity.items() if value is not None}


def _resources(resources: Any) -> list[dict[str, Any]] | None:
    if not isinstance(resources, list):
        return None
    out = []
    for item in resources:
        if isinstance(item, dict):
            kind = item.get("type")
            out.append({"ARN": item.get("uid"), "type": kind, "accountId": item.get("owner")})
    return out


def _time(value: Any) -> str | None:
    """OCSF times are epoch milliseconds; CloudTrail's are RFC 3339 text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value if isinstance(value, str) else None


def _json_field(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _obj(container: dict[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}
