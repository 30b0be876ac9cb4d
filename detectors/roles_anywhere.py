"""IAM Roles Anywhere: certificates as a way in: ``roles_anywhere_trust``.

A trust anchor makes the account trust a certificate authority; a role trusting
``rolesanywhere.amazonaws.com`` without naming the anchor or a certificate field admits any
certificate of any anchor in the account. An intruder with IAM write access uploads their own
CA, creates a profile, and comes back with certificates they sign: no key, no password, no
identity provider. Three moments are reported: the anchor (or its CA) created, changed or
enabled; a role's trust opened to Roles Anywhere without such a condition; and the first
session from a certificate issuer the account never saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.change_finding import change_finding
from detectors.windows import learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import IdentityChange
from monitor.inventory.catalog import RoleLookup
from monitor.inventory.changes import RoleChange
from monitor.trust.enrich import EnrichedEvent
from monitor.trust.policy import parse_trust_policy
from monitor.trust.posture import WeaknessCode, weaknesses

ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"
#: Session tags Roles Anywhere derives from the certificate's issuer (see its trust model).
_ISSUER_TAGS = ("x509Issuer/CN", "x509Issuer/O", "x509Issuer/OU")
_ANCHOR_CHANGES = frozenset({"CreateTrustAnchor", "UpdateTrustAnchor", "EnableTrustAnchor"})


class RolesAnywhereOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event during which certificate issuers are only learned.",
    )


class RolesAnywhereTrust(Detector):
    """A Roles Anywhere trust anchor or its CA was created, changed or enabled; a role was made
    to trust Roles Anywhere without a condition on the anchor or the certificate; or a session
    came from a certificate issuer not seen in the account before.

    Compare ``evidence.ca_certificate_sha256`` (or ``ca_arn``) with your PKI's CA; an anchor
    nobody planned is the backdoor itself. For a trust policy, pin the anchor with
    ``aws:SourceArn`` or the certificate with ``aws:PrincipalTag/x509Subject/CN``.

    What an attacker could hide behind it: a certificate issued by a CA the account already
    trusts (a compromised corporate PKI) is a known issuer; a trust anchor created before the
    monitor started, or while Roles Anywhere events were not on the input, is only seen through
    its sessions; issuers are compared by their certificate name fields, which a forged CA
    can copy (then only the anchor change shows it).
    """

    id = "roles_anywhere_trust"
    #: The service assumes the role (``userIdentity.type`` AWSService): category "service".
    applies = Applies(
        event_names=frozenset({"AssumeRole"}), succeeded=True, categories=frozenset({"service"})
    )
    severity = Severity.HIGH
    summary = (
        "A Roles Anywhere trust anchor or its CA created or changed, a role trusting Roles "
        "Anywhere without a condition on anchor or certificate, or a session from an issuer "
        "not seen before."
    )
    needs = ("Roles Anywhere and IAM change events on the input", "state (issuers seen)")
    dedup_by = "the change record; the (account, issuer) of a session"
    Options = RolesAnywhereOptions
    options: RolesAnywhereOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.caller.invoked_by != ROLES_ANYWHERE:
            return
        issuer = _issuer(event.session_tags)
        if issuer is None:
            return
        at, key = event.event_time, f"{event.role_account}|{issuer}"
        if ctx.state.touch(self.id, key, at) is not None:
            return
        if learning(ctx, self.options.learning_period, at):
            return
        yield self.finding(
            ev,
            f"Roles Anywhere session into {short_role(event.role_arn)} from a certificate of "
            f"issuer {issuer}, never seen in account {event.role_account}",
            {"certificate_issuer": issuer},
            dedup=key,
        )

    def detect_identity_change(
        self, change: IdentityChange, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if change.event_name not in _ANCHOR_CHANGES:
            return  # profiles list roles; the anchor is what decides whose certificates count
        name = change.detail.get("name") or change.resource or "(unnamed)"
        yield change_finding(
            self,
            change,
            ctx,
            title=f"Roles Anywhere trust anchor {name} {change.action}d "
            f"({change.event_name} by {change.caller.identifier})",
            evidence={"change": change.event_name, "resource": change.resource, **change.detail},
            dedup=change.event_id,
            account=change.account,
        )

    def detect_change(
        self, change: RoleChange, before: RoleLookup, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if not change.sets_trust_policy or change.trust_policy is None:
            return
        if not _unpinned(change.trust_policy, change.account):
            return
        old = before.role.trust_policy if before.role else None
        if old is not None and _unpinned(dict(old), change.account):
            return  # already open before this change: not news
        yield change_finding(
            self,
            change,
            ctx,
            title=f"{short_role(change.role_arn)} now trusts Roles Anywhere without a condition "
            f"on trust anchor or certificate ({change.event_name} by {change.caller.identifier})",
            evidence={
                "change": change.event_name,
                "role": change.role_arn,
                "why": "no aws:SourceArn or aws:PrincipalTag/x509… condition",
            },
            dedup=change.event_id,
            account=change.account,
        )


def _unpinned(document: dict[str, object], account: str | None) -> bool:
    policy = parse_trust_policy(document)
    return any(w.code is WeaknessCode.ROLES_ANYWHERE_UNPINNED for w in weaknesses(policy, account))


def _issuer(tags: dict[str, str]) -> str | None:
    parts = [f"{key.split('/', 1)[1]}={tags[key]}" for key in _ISSUER_TAGS if tags.get(key)]
    return ",".join(parts) or None
