"""Principals from outside the organization assuming roles inside it.

Both detectors key their dedup on (caller, role): a vendor or an intruder polling a role every
few minutes becomes one finding per dedup window with the repeats counted on it, not a page
every poll.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import Applies, DetectionContext, Detector, short_role
from detectors.identity import stable_principal
from monitor.aws.accounts import Rung
from monitor.findings import Finding, Severity
from monitor.trust.enrich import EnrichedEvent


class ExternalAccount(Detector):
    """A principal of an account that is neither an organization member nor listed in
    ``trusted_external_accounts`` got a session in one of our roles.

    Why it matters: the role's trust policy lets an unknown account in, or an account was left
    out of the organization list. Check ``evidence.trust_grant`` (when role metadata is loaded)
    for the grant that admitted it; if the account is a legitimate vendor, add it to
    ``trusted_external_accounts`` rather than suppressing.
    """

    id = "external_account"
    applies = Applies(succeeded=True, categories=frozenset({Rung.EXTERNAL}))
    dedup_by = "caller (principal id; a role session counts as its role) and role"
    severity = Severity.HIGH
    summary = (
        "A principal from an account outside the organization and not in "
        "trusted_external_accounts assumed a role successfully."
    )
    needs = ("organization accounts", "trusted_external_accounts")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
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
    """A trusted vendor account assumed a role without an ``ExternalId``, or through a grant
    that does not require one (the confused deputy), whatever the caller sent.

    Why it matters: without an ``sts:ExternalId`` condition on the grant, any customer of the
    vendor can make the vendor assume *your* role; a vendor that happens to send an ExternalId
    proves nothing while the grant does not demand it. Add an ``sts:ExternalId`` condition to the
    grant named in ``evidence.trust_grant``. When the role's trust policy is not known, only a
    call without an ExternalId is reported (``evidence.reason`` says which case fired).
    """

    id = "missing_external_id"
    applies = Applies(
        event_names=frozenset({"AssumeRole"}), succeeded=True, categories=frozenset({Rung.VENDOR})
    )
    dedup_by = "source account and role"
    severity = Severity.MEDIUM
    summary = (
        "A trusted external (vendor) account assumed a role without an externalId, or through "
        "a grant that does not require sts:ExternalId."
    )
    needs = ("trusted_external_accounts", "trust metadata (for the grant check)")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.event_name != "AssumeRole":  # only AssumeRole can carry an ExternalId
            return
        grant = ev.grant.grant if ev.grant is not None else None
        if not event.external_id_present:
            reason, how = "no_external_id_sent", "without an external ID"
        elif grant is not None and not grant.requires_external_id:
            reason, how = (
                "grant_does_not_require_external_id",
                ("through a grant that does not require sts:ExternalId"),
            )
        else:
            return
        yield self.finding(
            ev,
            f"Vendor account {event.principal_account} assumed {short_role(event.role_arn)} {how}",
            {
                "source_account": event.principal_account,
                "trusted_external_account": True,
                "reason": reason,
                "grant_requires_external_id": grant.requires_external_id if grant else None,
            },
            dedup=f"{event.principal_account}->{event.role_arn}",
        )
