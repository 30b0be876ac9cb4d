"""Break-glass roles: any use pages, any failed attempt is worth a look."""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import DetectionContext, Detector, short_role
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class BreakGlassAssumed(Detector):
    id = "break_glass_assumed"
    severity = Severity.CRITICAL
    summary = "A break-glass role was assumed successfully (evidence says whether MFA was used)."
    needs = ("trust metadata (role tags)",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        if not (ev.break_glass and ev.event.succeeded):
            return
        mfa = ev.event.caller.mfa_authenticated or ev.event.mfa_serial_present
        yield self.finding(
            ev,
            f"Break-glass role {short_role(ev.event.role_arn)} assumed by "
            f"{ev.event.caller.identifier}{'' if mfa else ' without MFA'}",
            {"mfa_used": bool(mfa), "mfa_serial_in_request": ev.event.mfa_serial_present},
        )


class BreakGlassDenied(Detector):
    id = "break_glass_denied"
    severity = Severity.HIGH
    summary = "An attempt to assume a break-glass role failed."
    needs = ("trust metadata (role tags)",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        if not ev.break_glass or ev.event.succeeded:
            return
        yield self.finding(
            ev,
            f"Denied attempt ({ev.event.error_code}) to assume break-glass role "
            f"{short_role(ev.event.role_arn)} by {ev.event.caller.identifier}",
            {},
        )
