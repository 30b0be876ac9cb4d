"""What every alert format shares: bounded finding data, alert names and stable fingerprints.

Findings carry caller-supplied text (user agents, session names, ARNs). Each sink's own format
escapes it; this module bounds it first, so a 200 KB user agent cannot inflate a page, a chat
message or an SNS message beyond what the receiver accepts.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from monitor.aws.arns import is_account_id, last_segment
from monitor.findings import Finding
from monitor.intake.text import clean

#: Longest string any field keeps in a rendered alert (the receivers' limits are larger).
FIELD_LIMIT = 1024
#: Most items kept from one list or mapping in ``evidence``.
ITEMS_LIMIT = 50
#: Nesting kept in ``evidence``; deeper values are summarised.
DEPTH_LIMIT = 6


def bounded(value: Any, limit: int = FIELD_LIMIT, depth: int = 0) -> Any:
    """A JSON-ready copy of ``value`` with every string cleaned and capped, containers trimmed."""
    if isinstance(value, str):
        return clean(value, limit)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= DEPTH_LIMIT:
        return clean(repr(value), 64)
    if isinstance(value, dict):
        items = list(value.items())[:ITEMS_LIMIT]
        return {clean(str(k), 128): bounded(v, limit, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [bounded(v, limit, depth + 1) for v in list(value)[:ITEMS_LIMIT]]
    return clean(str(value), limit)


def finding_document(finding: Finding, limit: int = FIELD_LIMIT) -> dict[str, Any]:
    """The finding as the contract's JSON object, every string bounded."""
    data: dict[str, Any] = bounded(finding.model_dump(mode="json"), limit)
    return data


def alert_name(detector: str) -> str:
    """``break_glass_assumed`` → ``RoleMonitorBreakGlassAssumed`` (Alertmanager's CamelCase)."""
    words = re.split(r"[^A-Za-z0-9]+", detector)
    return "RoleMonitor" + "".join(word[:1].upper() + word[1:] for word in words if word)


def fingerprint(finding: Finding) -> str:
    """Stable across restarts and replays: a hash of the dedup key, nothing time-dependent.

    The same finding sent twice (a restart reprocessing uncommitted input) therefore carries
    the same labels, so Alertmanager and PagerDuty merge it into the alert they already have.
    """
    return hashlib.sha256(finding.dedup_key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def account_or_unknown(account: str | None) -> str:
    """A 12-digit account id, else ``unknown``: routing labels never carry free text."""
    return account if account and is_account_id(account) else "unknown"


def role_name(role_arn: str | None) -> str | None:
    """The last path segment of a role ARN (``.../role/path/Name`` → ``Name``)."""
    if not role_arn:
        return None
    return last_segment(role_arn) or None


def description_lines(finding: Finding, limit: int = 256) -> list[str]:
    """Who did what where, one bounded line each, for human-facing descriptions."""
    pairs = [
        ("Principal", finding.principal),
        ("Principal account", finding.principal_account),
        ("Role", finding.role_arn),
        ("Role account", finding.role_account),
        ("Call", finding.event_name),
        ("Category", finding.category),
        ("Source IP", finding.source_ip),
        ("User agent", finding.user_agent),
        ("Region", finding.region),
        ("Event time", finding.model_dump(mode="json")["event_time"]),
        ("Event id", finding.event_id),
    ]
    lines = [f"{label}: {clean(value, limit)}" for label, value in pairs if value]
    return lines + reason_lines(finding, limit)


def reason_lines(finding: Finding, limit: int = 256) -> list[str]:
    """A page's reasons (``monitor.sinks.pages``), one bounded line each; none for a finding
    that stands alone."""
    members = finding.evidence.get("event_findings")
    if not isinstance(members, list):
        return []
    return [
        f"Reason: {clean(m.get('detector'), 64)} ({clean(m.get('severity'), 16)}): "
        f"{clean(m.get('title'), limit)}"
        for m in members
        if isinstance(m, dict)
    ]


def runbook_url(base: str | None, detector: str) -> str | None:
    """``<base>#<detector>``: the detector's section of the runbook; None without a base."""
    return f"{base}#{detector}" if base else None


def with_runbook(document: bytes, base: str | None, detector: str) -> bytes:
    """A finding's JSON object with ``runbook_url`` added last (unchanged without a base).

    Spliced in rather than re-serialised: the finding's own bytes stay exactly as they were,
    and the URL comes from the configuration and a detector id, never from the event.
    """
    url = runbook_url(base, detector)
    if url is None or not document.endswith(b"}"):
        return document
    import orjson

    separator = b"," if document != b"{}" else b""
    return document[:-1] + separator + b'"runbook_url":' + orjson.dumps(url) + b"}"
