"""Many calls by one principal in a short time: failed assumptions, or many different roles.

Both use :class:`detectors.windows.BurstGate`: one finding when a burst opens, none while it
goes on, a new one only after the principal has been quiet for a whole window. The dedup key is
principal + burst start, so two separate bursts are two findings even within the dedup window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from detectors.base import FAILED, Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.chains import vendor_by_grant
from detectors.growth import reaches
from detectors.identity import principal_key, stable_principal
from detectors.windows import BurstGate, DistinctWindow, EventWindow, human
from monitor.aws.arns import account_field
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.clock import minus
from monitor.trust.enrich import EnrichedEvent

#: At most this many distinct items (roles, error codes, ips) are listed in the evidence.
EVIDENCE_ITEMS = 20


def _distinct(items: Iterable[str]) -> list[str]:
    return sorted(set(items))[:EVIDENCE_ITEMS]


class DeniedBurstOptions(NoOptions):
    threshold: int = Field(default=5, ge=1, description="Failed assumptions that make a burst.")
    window: Duration = Field(
        default=timedelta(minutes=5), description="Sliding window the failures must fall in."
    )
    retry_merge: Duration = Field(
        default=timedelta(days=1),
        description="Bursts of one principal refused one role again and again (a job retrying) "
        "merge into one low finding per principal and role while they come less than this "
        "apart.",
    )


class AssumeRoleDeniedBurst(Detector):
    """One principal failed ``threshold`` or more role assumptions within ``window``.

    Role enumeration (guessing role names across accounts) and brute-forcing a trust policy both
    look like this: several roles or accounts, high, one finding per burst (after firing, the
    principal must be quiet for a whole window before it can fire again).

    **Retry is not enumeration.** A burst in which every failure names the *same* role is a
    job retrying a request its role refuses (``configure-aws-credentials`` retries a pull
    request's workflow against a deploy role that only trusts ``main``): a misconfiguration,
    low, and one finding per principal (a role session counts as its role) and role for as
    long as its bursts come less than ``retry_merge`` apart. No burst is held open for a
    retry, so a principal that moves on to other roles is counted afresh and its next burst is
    enumeration.

    What an attacker can hide behind it: guessing the conditions of *one* role they already
    know (an ExternalId, a session tag) reads as a retry, low, and does not flag the identity
    for ``flagged_session_used``. What they cannot: a second role or account in the burst
    makes it enumeration (high), and ``assume_role_slow_enumeration`` counts roles over hours.
    """

    id = "assume_role_denied_burst"
    applies = FAILED
    dedup_by = "principal and burst start; a retry: principal and role"
    severity = Severity.HIGH
    summary = (
        "One principal got threshold or more failed assumptions of several roles or accounts "
        "within window, one finding per burst; one role refused again and again is low, "
        "merged per principal and role."
    )
    needs = ("state (sliding window per principal)",)
    Options = DeniedBurstOptions
    options: DeniedBurstOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        key, at = principal_key(event.caller), event.event_time
        gate = BurstGate(self.id, self.options.window)
        if gate.holding(ctx.state, key, at):
            return
        window = EventWindow(self.id, self.options.window)
        item = f"{event.role_arn or '?'}|{event.error_code}|{event.event_id}"
        entries = window.add(ctx.state, key, at, item)
        if len(entries) < self.options.threshold:
            return
        window.clear(ctx.state, key)
        parts = [what.split("|") for _, what in entries]
        roles = {p[0] for p in parts}
        evidence = {
            "failures": len(entries),
            "threshold": self.options.threshold,
            "window_seconds": self.options.window.total_seconds(),
            "roles": _distinct(roles),
            "error_codes": _distinct(p[1] for p in parts),
            "event_ids": [p[-1] for p in parts][:EVIDENCE_ITEMS],
            "first": entries[0][0].isoformat(),
            "last": entries[-1][0].isoformat(),
        }
        if len(roles) == 1 and "?" not in roles:
            yield from self._retry(ev, ctx, roles.pop(), evidence)
            return
        start = gate.open(ctx.state, key, entries[0][0], at)
        yield self.finding(
            ev,
            f"{len(entries)} failed role assumptions by {event.caller.identifier} within "
            f"{human(self.options.window)} ({len(roles)} roles)",
            {**evidence, "why": "several roles or accounts refused: enumeration"},
            dedup=f"{key}@{start.isoformat()}",
        )

    def _retry(
        self, ev: EnrichedEvent, ctx: DetectionContext, role: str, evidence: dict[str, Any]
    ) -> Iterable[Finding]:
        """One low finding per (principal, role) while its bursts come within ``retry_merge``."""
        at = ev.event.event_time
        merge = f"{stable_principal(ev.event.caller)}|{role}"
        namespace = f"{self.id}:retry"
        held = ctx.state.recall(namespace, merge, at)
        # Sliding: a job that keeps retrying stays one finding for as long as it keeps failing.
        ctx.state.remember(namespace, merge, held or at.isoformat(), at + self.options.retry_merge)
        if held is not None:
            return
        yield self.finding(
            ev,
            f"{ev.event.caller.identifier} refused {short_role(role)} "
            f"{evidence['failures']} times within {human(self.options.window)} (retrying)",
            {**evidence, "why": "one role refused again and again: a retry, not enumeration"},
            dedup=f"retry:{merge}",
            severity=Severity.LOW,
        )


class ManyRolesOptions(NoOptions):
    threshold: int = Field(default=10, ge=2, description="Distinct roles that make a burst.")
    window: Duration = Field(
        default=timedelta(hours=1), description="Sliding window the roles must fall in."
    )
    hub_accounts: int = Field(
        default=3,
        ge=1,
        description="A role whose name the caller already reaches in this many member "
        "accounts counts as familiar (a hub's fleet-wide apply).",
    )


class ManyRolesAssumed(Detector):
    """One principal assumed (or tried to assume) ``threshold`` or more *different* roles within
    ``window``.

    A person or a job normally uses a handful of roles; touching many in a short time is how
    stolen credentials are explored and how an intruder looks for the role that works. AWS
    service principals are left out (one service assumes roles for all its customers). Only
    roles new to the caller count (a role session counts as its role): organization-wide
    automation (scanners, deployment pipelines, vendors) that assumes the same roles every
    hour fires on its first fan-out only; failures always count. One finding per burst. A
    hub's role name it already uses in several member accounts, and a trusted vendor admitted
    by a grant requiring the ExternalId it sent, count as familiar too (a stolen hub session
    fanning out to its usual role name, or a vendor's credentials with its ExternalId, hide
    here; any other role name still counts).
    """

    id = "many_roles_assumed"
    applies = Applies(
        except_event_names=frozenset({"AssumeRoot"}), except_categories=frozenset({"service"})
    )
    dedup_by = "principal and burst start"
    severity = Severity.MEDIUM
    summary = "One principal assumed threshold or more distinct roles within window."
    needs = ("state (sliding window per principal)",)
    Options = ManyRolesOptions
    options: ManyRolesOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if not event.role_arn:
            return
        key, at = principal_key(event.caller), event.event_time
        if event.succeeded and self._familiar(ctx, ev, event.role_arn, at):
            return
        gate = BurstGate(self.id, self.options.window)
        if gate.holding(ctx.state, key, at):
            return
        window = DistinctWindow(self.id, self.options.window, self.options.threshold)
        roles = window.add(ctx.state, key, at, event.role_arn)
        if len(roles) < self.options.threshold:
            return
        start = gate.open(ctx.state, key, min(roles.values()), at)
        window.clear(ctx.state, key)
        accounts = {account for role in roles if (account := account_field(role)) is not None}
        yield self.finding(
            ev,
            f"{event.caller.identifier} assumed {len(roles)} different roles in "
            f"{len(accounts)} accounts within {human(self.options.window)}, none of them "
            "assumed by it before",
            {
                "distinct_roles": len(roles),
                "threshold": self.options.threshold,
                "window_seconds": self.options.window.total_seconds(),
                "roles": _distinct(roles),
                "accounts": _distinct(accounts),
                "first": min(roles.values()).isoformat(),
                "last": max(roles.values()).isoformat(),
                "why": "roles this identity never assumed successfully before (or failures)",
                "familiar_since": ctx.observation_start.isoformat(),
            },
            dedup=f"{key}@{start.isoformat()}",
        )

    def _familiar(self, ctx: DetectionContext, ev: EnrichedEvent, role: str, at: datetime) -> bool:
        """True when the caller's long-lived identity (a session counts as its role) already
        assumed ``role`` successfully: a scanner or pipeline fanning out to the same accounts
        every hour is routine. Records the pair either way (kept for the state retention).

        Also true for a hub reaching a role name it already reaches in ``hub_accounts`` member
        accounts (see :mod:`detectors.growth`), and for a trusted vendor admitted by a grant
        requiring the ExternalId it sent: a fleet-wide apply or a vendor's daily poll of the
        accounts that granted it access is their designed use."""
        source = stable_principal(ev.event.caller)
        if ctx.state.touch(f"{self.id}:known", f"{source}->{role}", at) is not None:
            return True
        if vendor_by_grant(ev):
            return True
        org = ctx.enricher.org
        before = minus(at, self.options.window)
        return ev.event.principal_account in org and reaches(
            ctx, source, role, before, self.options.hub_accounts
        )
