"""An account left or was removed from the organization: ``account_left_organization``.

Leaving the organization is a defense-evasion step (Stratus ``organizations-leave``): the
account escapes the organization's SCPs and trail, yet every role that trusts it still does.
From the moment the change is seen the monitor counts the account as outside the organization
(the directory is updated in-stream), so its later assumptions are ``external_account`` findings.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import NO_ASSUMPTION, DetectionContext, Detector
from detectors.change_finding import change_finding
from monitor.findings import Finding, Severity
from monitor.intake.events import MembershipChange, OrganizationChange
from monitor.trust.enrich import EnrichedEvent

#: Roles named in the evidence at most: enough to start, bounded for the alert formats.
MAX_ROLES = 20


class AccountLeftOrganization(Detector):
    """Confirm with the organization's management account that the departure was planned. The
    evidence lists the known roles whose trust policies name the account
    (``roles_trusting_account``): each of them now trusts an outside account, so remove the
    grants or add the account to ``trusted_external_accounts`` if it is a deliberate spin-off.
    """

    id = "account_left_organization"
    applies = NO_ASSUMPTION
    severity = Severity.HIGH
    summary = (
        "A member account left the organization (LeaveOrganization) or was removed from it "
        "(RemoveAccountFromOrganization); from then on its calls are external."
    )
    needs = ("Organizations events on the input", "organization accounts")
    dedup_by = "the departed account"

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        """Role assumptions are not membership changes (see :meth:`detect_organization_change`)."""
        return ()

    def detect_organization_change(
        self, change: OrganizationChange, was_member: bool, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if not change.departs:
            return
        how = "left" if change.kind is MembershipChange.LEFT else "was removed from"
        yield change_finding(
            self,
            change,
            ctx,
            title=(
                f"Account {change.account} {how} the organization "
                f"({change.event_name} by {change.caller.identifier})"
            ),
            evidence={
                "account": change.account,
                "account_name": ctx.org.name(change.account) or None,
                "was_known_member": was_member,
                "roles_trusting_account": _roles_trusting(change.account, ctx),
            },
            dedup=change.account,
            account=change.account,
        )


def _roles_trusting(account: str, ctx: DetectionContext) -> list[str]:
    """ARNs of known roles (in other accounts) with a grant naming ``account``."""
    found: list[str] = []
    for role in ctx.enricher.catalog.roles():
        if role.account == account or len(found) >= MAX_ROLES:
            continue
        parsed = ctx.enricher.trust_policy(role)
        if parsed and any(g.principal_account == account for g in parsed[0].allows):
            found.append(role.arn)
    return sorted(found)
