"""Break-glass roles: any use pages, any failed attempt is worth a look.

A role is break-glass by ARN (``break_glass.role_arns``), by name pattern or by tag (see
:func:`monitor.trust.break_glass.break_glass_rule`); the evidence says which rule matched, so
on-call can tell a deliberate emergency role from a pattern that matched too much.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import Applies, DetectionContext, Detector, short_role
from detectors.identity import principal_key
from monitor.findings import Finding, Severity
from monitor.trust.break_glass import break_glass_rule
from monitor.trust.enrich import EnrichedEvent


class BreakGlassAssumed(Detector):
    """Someone got a session in a break-glass role.

    Every use pages: each assumption is its own finding (no merging), and the evidence says
    whether MFA was used (``mfa_used``) and which rule marks the role break-glass. Confirm the
    use against an open incident; an unplanned use is an incident of its own.
    """

    id = "break_glass_assumed"
    applies = Applies(succeeded=True, break_glass=True)
    severity = Severity.CRITICAL
    summary = "A break-glass role was assumed successfully (evidence says whether MFA was used)."
    needs = ("break_glass config", "role tags (optional)")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        mfa = bool(event.caller.mfa_authenticated or event.mfa_serial_present)
        yield self.finding(
            ev,
            f"Break-glass role {short_role(event.role_arn)} assumed by "
            f"{event.caller.identifier}{'' if mfa else ' without MFA'}",
            {
                "mfa_used": mfa,
                "mfa_serial_in_request": event.mfa_serial_present,
                "break_glass_rule": break_glass_rule(
                    event.role_arn, ev.role, ctx.settings.break_glass
                ),
            },
        )


class BreakGlassDenied(Detector):
    """An attempt to assume a break-glass role failed.

    Either someone reached for the emergency role without being allowed to (worth a word), or
    someone is probing it. Repeats by the same caller on the same role merge into one finding
    per dedup window. The role often shows only in ``errorMessage``; the monitor reads it there.
    """

    id = "break_glass_denied"
    applies = Applies(succeeded=False, break_glass=True)
    dedup_by = "caller and role"
    severity = Severity.HIGH
    summary = "An attempt to assume a break-glass role failed."
    needs = ("break_glass config", "role tags (optional)")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        yield self.finding(
            ev,
            f"Denied attempt ({event.error_code}) to assume break-glass role "
            f"{short_role(event.role_arn)} by {event.caller.identifier}",
            {
                "break_glass_rule": break_glass_rule(
                    event.role_arn, ev.role, ctx.settings.break_glass
                ),
            },
            dedup=f"{principal_key(event.caller)}->{event.role_arn}",
        )
