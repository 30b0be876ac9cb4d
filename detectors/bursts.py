"""Many calls by one principal in a short time: failed assumptions, or many different roles.

Both use :class:`detectors.windows.BurstWindow`: one finding when a burst opens, none while it
goes on, a new one only after the principal has been quiet for a whole window. The dedup key is
principal + burst start, so two separate bursts are two findings even within the dedup window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import Field

from detectors.base import DetectionContext, Detector, NoOptions
from detectors.identity import principal_key
from detectors.windows import BurstWindow, human
from monitor.config import Duration
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity

#: At most this many distinct items (roles, error codes, ips) are listed in the evidence.
EVIDENCE_ITEMS = 20


def _distinct(items: Iterable[str]) -> list[str]:
    return sorted(set(items))[:EVIDENCE_ITEMS]


def _span(entries: list[tuple[datetime, str]]) -> dict[str, str]:
    return {"first": entries[0][0].isoformat(), "last": entries[-1][0].isoformat()}


class DeniedBurstOptions(NoOptions):
    threshold: int = Field(default=5, ge=1, description="Failed assumptions that make a burst.")
    window: Duration = Field(
        default=timedelta(minutes=5), description="Sliding window the failures must fall in."
    )


class AssumeRoleDeniedBurst(Detector):
    """One principal failed ``threshold`` or more role assumptions within ``window``.

    Role enumeration (guessing role names across accounts) and brute-forcing a trust policy both
    look like this; so does a misconfigured job retrying in a loop, which the roles and error
    codes in the evidence tell apart. One finding per burst: after firing, the principal must be
    quiet for a whole window before it can fire again.
    """

    id = "assume_role_denied_burst"
    dedup_by = "principal and burst start"
    severity = Severity.HIGH
    summary = (
        "One principal got threshold or more failed assumptions within window; one finding "
        "per burst."
    )
    needs = ("state (sliding window per principal)",)
    Options = DeniedBurstOptions
    options: DeniedBurstOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.succeeded:
            return
        key = principal_key(event.caller)
        windows = BurstWindow(self.id, self.options.window)
        item = f"{event.role_arn or '?'}|{event.error_code}|{event.event_id}"
        entries = windows.add(ctx.state, key, event.event_time, item)
        if windows.open_burst(ctx.state, key, event.event_time) is not None:
            return
        if len(entries) < self.options.threshold:
            return
        burst = windows.open(ctx.state, key, entries[0][0], event.event_time)
        parts = [what.split("|") for _, what in entries]
        roles = _distinct(p[0] for p in parts)
        yield self.finding(
            ev,
            f"{len(entries)} failed role assumptions by {event.caller.identifier} within "
            f"{human(self.options.window)} ({len(set(p[0] for p in parts))} roles)",
            {
                "failures": len(entries),
                "threshold": self.options.threshold,
                "window_seconds": self.options.window.total_seconds(),
                "roles": roles,
                "error_codes": _distinct(p[1] for p in parts),
                "event_ids": [p[-1] for p in parts][:EVIDENCE_ITEMS],
                **_span(entries),
            },
            dedup=f"{key}@{burst.start.isoformat()}",
        )


class ManyRolesOptions(NoOptions):
    threshold: int = Field(default=10, ge=2, description="Distinct roles that make a burst.")
    window: Duration = Field(
        default=timedelta(hours=1), description="Sliding window the roles must fall in."
    )


class ManyRolesAssumed(Detector):
    """One principal assumed (or tried to assume) ``threshold`` or more *different* roles within
    ``window``.

    A person or a job normally uses a handful of roles; touching many in a short time is how
    stolen credentials are explored and how an intruder looks for the role that works. AWS
    service principals are left out (one service assumes roles for all its customers).
    Organization-wide automation (scanners, deployment pipelines) is best suppressed by
    principal. One finding per burst.
    """

    id = "many_roles_assumed"
    dedup_by = "principal and burst start"
    severity = Severity.MEDIUM
    summary = "One principal assumed threshold or more distinct roles within window."
    needs = ("state (sliding window per principal)",)
    Options = ManyRolesOptions
    options: ManyRolesOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if ev.category == "service" or not event.role_arn or event.event_name == "AssumeRoot":
            return
        key = principal_key(event.caller)
        windows = BurstWindow(self.id, self.options.window)
        entries = windows.add(ctx.state, key, event.event_time, event.role_arn)
        roles = {role for _, role in entries}
        if windows.open_burst(ctx.state, key, event.event_time) is not None:
            return
        if len(roles) < self.options.threshold:
            return
        burst = windows.open(ctx.state, key, entries[0][0], event.event_time)
        accounts = {role.split(":")[4] for role in roles if role.count(":") >= 5}
        yield self.finding(
            ev,
            f"{event.caller.identifier} assumed {len(roles)} different roles in "
            f"{len(accounts)} accounts within {human(self.options.window)}",
            {
                "distinct_roles": len(roles),
                "threshold": self.options.threshold,
                "window_seconds": self.options.window.total_seconds(),
                "roles": _distinct(roles),
                "accounts": _distinct(accounts),
                "attempts": len(entries),
                **_span(entries),
            },
            dedup=f"{key}@{burst.start.isoformat()}",
        )
