"""Principals from outside the organization assuming roles inside it.

Both detectors key their dedup on (caller, role): a vendor or an intruder polling a role every
few minutes becomes one finding per dedup window with the repeats counted on it, not a page
every poll.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import DetectionContext, Detector, short_role
from detectors.identity import stable_principal
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class ExternalAccount(Detector):
    """A principal of an account that is neither an organization member nor listed in
    ``trusted_external_accounts`` got a session in one of our roles.

    Why it matters: the role's trust policy lets an unknown account in, or an account was left
    out of the organization list. Check ``evidence.trust_grant`` (when role metadata is loaded)
    for the grant that admitted it; if the account is a legitimate vendor, add it to
    ``trusted_external_accounts`` rather than suppressing.
    """

    id = "external_account"
    dedup_by = "caller (principal id; a role session counts as its role) and role"
    severity = Severity.HIGH
    summary = (
        "A principal from an account outside the organization and not in "
        "trusted_external_accounts assumed a role successfully."
    )
    needs = ("organization accounts", "trusted_external_accounts")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if ev.category != "external" or not event.succeeded:
            return
        yield self.finding(
            ev,
            f"External account {event.principal_account} assumed {short_role(event.role_arn)} "
            f"as {event.caller.identifier}",
            {
                "source_account": event.principal_account,
                "role_account": event.role_account,
                "organization_member": False,
                "trusted_external_account": False,
            },
            dedup=f"{stable_principal(event.caller)}->{event.role_arn}",
        )


class MissingExternalId(Detector):
    """A trusted vendor account assumed a role without sending an ``ExternalId``.

    Why it matters: without an external id the role is open to the confused-deputy problem,
    where any customer of the vendor can make the vendor assume *your* role. The call succeeded,
    so the trust policy does not require one: add an ``sts:ExternalId`` condition.
    """

    id = "missing_external_id"
    dedup_by = "source account and role"
    severity = Severity.MEDIUM
    summary = "A trusted external (vendor) account assumed a role without an externalId."
    needs = ("trusted_external_accounts",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if ev.category != "vendor" or not event.succeeded or event.external_id_present:
            return
        if event.event_name != "AssumeRole":  # only AssumeRole can carry an ExternalId
            return
        yield self.finding(
            ev,
            f"Vendor account {event.principal_account} assumed {short_role(event.role_arn)} "
            "without an external ID",
            {"source_account": event.principal_account, "trusted_external_account": True},
            dedup=f"{event.principal_account}->{event.role_arn}",
        )
