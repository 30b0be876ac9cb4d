"""A finding on a change event (a provider or membership change), with the contract's fields.

:meth:`detectors.base.Detector.finding` builds findings on role assumptions; a change has no
assumed role and no trust grant, so its findings are assembled here, from the change's own
caller, origin and time, with the same evidence basics (who, how, which record).
"""

from __future__ import annotations

from typing import Any

from detectors.base import DetectionContext, Detector
from monitor.findings import Finding, Severity
from monitor.intake.events import IdentityChange, OrganizationChange, ProviderChange, RoleChange


def change_finding(
    detector: Detector,
    change: ProviderChange | OrganizationChange | IdentityChange | RoleChange,
    ctx: DetectionContext,
    title: str,
    evidence: dict[str, Any],
    dedup: str,
    account: str | None,
    severity: Severity | None = None,
) -> Finding:
    """A finding on ``change``; ``account`` is the account the change happened to."""
    caller = change.caller
    basics = {
        "identity_type": caller.identity_type,
        "session_issuer": caller.session_issuer_arn,
        "invoked_by": caller.invoked_by,
        "mfa_authenticated": caller.mfa_authenticated,
        "event_ids": [change.event_id],
    }
    merged = {**basics, **evidence}
    return Finding(
        detector=detector.id,
        severity=severity or detector.severity,
        title=title,
        event_id=change.event_id,
        event_time=change.event_time,
        event_name=change.event_name,
        role_arn=None,
        role_account=account,
        principal=caller.identifier,
        principal_account=caller.account_id,
        source_ip=change.source_ip,
        user_agent=change.user_agent,
        dedup_key=f"{detector.id}:{dedup}",
        evidence={k: v for k, v in merged.items() if v not in (None, {}, [])},
        assumption_id=change.event_id,
        category=ctx.enricher.account_relation(caller.account_id, account),
        metadata="stream",
        region=change.aws_region,
    )
