"""One event, one page: the findings of one event become one notification in paging sinks.

When several detectors fire on one event (a first-seen pair that is also a new chain, a burst
that is also a fan-out), on-call should get one page listing every reason, not three pages for
one call. Sinks that page (Alertmanager, webhooks, SNS) declare ``pages = True``; delivery hands
them :func:`one_per_event` of its batch. JSON lines and Kafka keep every finding: those share
``assumption_id`` and ``event_id``, which link them to each other and to the page.

The page is a finding of its own: the most severe member's fields (detector, role, principal:
what routing and the reader need), the highest severity, a title naming the other detectors, and
``evidence.event_findings`` listing every member. Its ``dedup_key`` (``event:<hash>``) is derived
from the event and its members' identities, so a retried or replayed batch yields the same page
id, fingerprint and PagerDuty dedup key: receivers refresh it instead of paging again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from monitor.findings import Finding
from monitor.sinks.base import finding_key

#: Other detectors named in a page's title; all of them are in ``evidence.event_findings``.
TITLE_REASONS = 5
#: Members listed in ``evidence.event_findings`` (an event fires a handful of detectors at most).
LISTED_LIMIT = 50


def pages(sink: object) -> bool:
    """True for sinks that notify people (they declare ``pages = True``)."""
    return bool(getattr(sink, "pages", False))


def event_of(finding: Finding) -> str:
    """What the findings of one event share: its ``assumption_id`` (both copies of a call share
    it; the second copy never reaches the detectors) and the ``event_id`` they were found on."""
    return f"{finding.assumption_id}\x00{finding.event_id}"


def one_per_event(findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` with those of one event made one page; order of first appearance kept."""
    by_event: dict[str, list[Finding]] = {}
    for finding in findings:
        by_event.setdefault(event_of(finding), []).append(finding)
    return [group[0] if len(group) == 1 else page(group) for group in by_event.values()]


def page(findings: Sequence[Finding]) -> Finding:
    """One finding standing for ``findings`` (of one event), at their highest severity."""
    ordered = sorted(findings, key=lambda finding: finding.severity.rank)  # stable: ties keep order
    lead = ordered[0]
    others = [finding.detector for finding in ordered[1:]]
    named = ", ".join(others[:TITLE_REASONS]) + (", ..." if len(others) > TITLE_REASONS else "")
    evidence: dict[str, Any] = {
        **lead.evidence,
        "event_findings": [_member(finding) for finding in ordered[:LISTED_LIMIT]],
        "event_findings_count": len(ordered),
    }
    return lead.model_copy(
        update={
            "title": f"{lead.title} (also on this event: {named})",
            "dedup_key": page_key(ordered),
            "evidence": evidence,
        }
    )


def page_key(findings: Sequence[Finding]) -> str:
    """``event:<hash>`` of the event and its members' identities, whatever their order."""
    members = sorted(finding_key(finding) for finding in findings)
    raw = "\x00".join([event_of(findings[0]), *members])
    return "event:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _member(finding: Finding) -> dict[str, str]:
    return {
        "detector": finding.detector,
        "severity": finding.severity.value,
        "title": finding.title,
        "dedup_key": finding.dedup_key,
    }
