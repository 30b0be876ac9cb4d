"""Moving sample records in time: the newest ``eventTime`` becomes "now", gaps kept.

For demos and the compose stack (``role-monitor produce --shift-to-now``): the bundled sample
is dated, so consumed as is it would look hours or months stale to the freshness alerts. Only
the times that describe the event move (``eventTime``, the session's ``creationDate``); a
record whose time cannot be read is left as it is (the pipeline will say why).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _session_attributes(record: dict[str, Any]) -> dict[str, Any] | None:
    identity = record.get("userIdentity")
    context = identity.get("sessionContext") if isinstance(identity, dict) else None
    attributes = context.get("attributes") if isinstance(context, dict) else None
    return attributes if isinstance(attributes, dict) else None


def shift_to(records: Sequence[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Copies of ``records`` moved by (now - newest eventTime)."""
    times = [t for t in (_parse(r.get("eventTime")) for r in records) if t is not None]
    if not times:
        return [dict(r) for r in records]
    delta = now.astimezone(UTC).replace(microsecond=0) - max(times)
    return [_moved(record, delta) for record in records]


def _moved(record: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    moved = dict(record)
    when = _parse(record.get("eventTime"))
    if when is not None:
        moved["eventTime"] = (when + delta).strftime(FORMAT)
    attributes = _session_attributes(record)
    created = _parse(attributes.get("creationDate")) if attributes else None
    if attributes is not None and created is not None:
        identity = dict(record["userIdentity"])
        context = dict(identity["sessionContext"])
        context["attributes"] = {**attributes, "creationDate": (created + delta).strftime(FORMAT)}
        identity["sessionContext"] = context
        moved["userIdentity"] = identity
    return moved
