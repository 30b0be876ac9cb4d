"""Sessions of an identity that was just flagged, followed until their credentials expire.

When a high or critical finding that signals compromise fires on an assumption (an external
account got in, a break-glass role was used, an untrusted provider minted a session), the
credentials that assumption issued are the attacker's foothold. Every later role assumption
made *with* those credentials is reported, naming the finding that tainted them, so a pivot is
visible as one story.

A burst of failures alone is not such a signal: a pod with a mistyped role ARN fails all day
and then, fixed, works as it always did. Failures flag an identity only provisionally: its
later sessions are reported when they reach a role it was denied (getting by another path
what it was refused), or when the failures spanned several roles (enumeration).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from pydantic import Field

from detectors import jsontext
from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.identity import (
    caller_session_keys,
    issued_session_keys,
    principal_key,
    session_expiry,
)
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.trust.enrich import EnrichedEvent

SESSIONS = "flagged_session"
PRINCIPALS = "flagged_principal"


class FlaggedOptions(NoOptions):
    min_severity: Severity = Field(
        default=Severity.HIGH,
        description="Findings at or above this severity flag the identity and its sessions.",
    )
    principal_ttl: Duration = Field(
        default=timedelta(hours=12),
        description="How long a flagged principal's newly issued sessions are tainted too.",
    )
    failure_detectors: tuple[str, ...] = Field(
        default=("assume_role_denied_burst",),
        description="Detectors whose findings are about failed calls only: they flag an "
        "identity provisionally (see the detector's description).",
    )
    enumeration_roles: int = Field(
        default=3,
        ge=2,
        description="Failures spanning this many distinct roles are enumeration: they flag the "
        "identity outright.",
    )


class FlaggedSessionUsed(Detector):
    """A session issued to a flagged identity was used to assume (or try to assume) a role.

    Flagging: a finding of ``min_severity`` or worse on an event taints the session that event
    issued, and for ``principal_ttl`` every session its caller obtains afterwards. Taint
    follows the chain: a finding of this detector taints the next session too. The evidence
    names the flagging finding. Findings of the ``failure_detectors`` (a burst of AccessDenied,
    at any severity: a low retry burst too) flag only provisionally, because a misconfigured
    job fails exactly like an attacker guessing: its sessions are reported only when they
    reach a role the identity was denied, unless the failures spanned ``enumeration_roles``
    roles or more. So a pod that failed on a
    mistyped role all morning and then worked normally raises the burst finding only. Merged
    per flagged identity (the flagging event): one story, not one finding per session.
    """

    id = "flagged_session_used"
    # detect: any call by a session may be a flagged one's; after: a service stands for all.
    after_applies = Applies(except_categories=frozenset({"service"}))
    dedup_by = "the flagged identity (the event that flagged it)"
    severity = Severity.HIGH
    summary = (
        "A session issued to an identity with a high/critical finding was used to assume roles."
    )
    needs = ("state (sessions until their credentials expire)", "findings of other detectors")
    Options = FlaggedOptions
    options: FlaggedOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        for key in caller_session_keys(event.caller):
            stored = ctx.state.recall(SESSIONS, key, event.event_time)
            if stored is None:
                continue
            taint = jsontext.loads(stored)
            if taint.get("event_id") == event.event_id:
                continue  # tainted by this very event (a role re-assuming itself)
            denied = taint.get("denied_roles")
            if denied is not None and not (event.succeeded and event.role_arn in denied):
                return  # failures only, and this is not the role it was refused
            yield self.finding(
                ev,
                f"Session of flagged identity {taint['principal']} "
                f"({', '.join(taint['detectors'])}) "
                f"{'assumed' if event.succeeded else 'tried to assume'} "
                f"{short_role(event.role_arn)}"
                f"{', a role it had been denied' if denied is not None else ''}",
                {"flagged_by": taint, "session": key},
                dedup=f"{taint['principal']}@{taint['flagged_event_id']}",
            )
            return

    def after(self, ev: EnrichedEvent, ctx: DetectionContext, findings: Sequence[Finding]) -> None:
        """Taint what this event issued, if it was flagged or its caller recently was."""
        event = ev.event
        who = principal_key(event.caller)
        serious = [f for f in findings if self._flags(f)]
        if serious:
            flagged: dict[str, object] = {
                "detectors": sorted({f.detector for f in serious}),
                "flagged_event_id": event.event_id,
                "principal": event.caller.identifier,
            }
            denied = self._failures_only(serious)
            if denied is not None:
                flagged["denied_roles"] = denied
            cause: dict[str, object] | None = flagged
            until = event.event_time + self.options.principal_ttl
            ctx.state.remember(PRINCIPALS, who, jsontext.dumps(cause), until)
        else:
            stored = ctx.state.recall(PRINCIPALS, who, event.event_time)
            cause = jsontext.loads(stored) if stored else None
        keys = issued_session_keys(event)
        if cause is None or not keys:
            return
        taint = jsontext.dumps({**cause, "session": keys[0], "event_id": event.event_id})
        expires = session_expiry(event)
        for key in keys:
            ctx.state.remember(SESSIONS, key, taint, expires)

    def _flags(self, finding: Finding) -> bool:
        """Serious enough, or about failures at any severity (a retry burst is low, yet getting
        the refused role by another path afterwards is still the story this detector tells)."""
        serious = finding.severity.rank <= self.options.min_severity.rank
        return serious or finding.detector in self.options.failure_detectors

    def _failures_only(self, serious: Sequence[Finding]) -> list[str] | None:
        """The roles refused, when every flagging finding is about failures on a few roles;
        None when some finding is a signal of compromise by itself."""
        if any(f.detector not in self.options.failure_detectors for f in serious):
            return None
        roles = sorted({str(role) for f in serious for role in f.evidence.get("roles", [])})
        return roles if len(roles) < self.options.enumeration_roles else None
