"""A SAML or OIDC identity provider was created, updated or deleted: ``identity_provider_changed``.

A ``Federated`` grant in a trust policy trusts whatever its provider vouches for. Replacing a
SAML provider's metadata (its signing certificate) lets whoever holds the new key sign in as
anyone the roles accept; adding an OIDC client id or thumbprint lets another application's
tokens in; a new provider is the first step of a federated backdoor. None of it touches a
trust policy, so ``trust_policy_opened`` cannot see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import NO_ASSUMPTION, DetectionContext, Detector, NoOptions
from detectors.change_finding import change_finding
from detectors.change_sets import ChangeSets, operator_principal
from detectors.growth import CONTROL_TOWER_CALLER, bootstrapping, note_joined, role_name
from detectors.windows import human
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import Caller, MembershipChange, OrganizationChange, ProviderChange
from monitor.trust.enrich import EnrichedEvent

#: IAM Identity Center rotates its own SAML provider (``AWSSSO_…_DO_NOT_DELETE``) through its
#: service-linked role; only the service can assume that role, so its sessions are the service.
_IDENTITY_CENTER_ROLE = re.compile(
    r"arn:aws[a-z-]*:iam::[0-9]{12}:role/aws-service-role/sso\.amazonaws\.com/AWSServiceRoleForSSO"
)
_IDENTITY_CENTER_SESSION = re.compile(
    r"arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/AWSServiceRoleForSSO/[^/]+"
)
_VERBS = {"create": "created", "update": "updated", "delete": "deleted"}
#: The one change that leaves who can sign in as it was: the TLS certificates' fingerprints.
ROTATION = "UpdateOpenIDConnectProviderThumbprint"


def is_identity_center_rotation(caller: Caller) -> bool:
    """True for a session of IAM Identity Center's own service-linked role."""
    if caller.session_issuer_arn:
        return _IDENTITY_CENTER_ROLE.fullmatch(caller.session_issuer_arn) is not None
    return (
        caller.invoked_by == "sso.amazonaws.com"
        and caller.arn is not None
        and _IDENTITY_CENTER_SESSION.fullmatch(caller.arn) is not None
    )


class ProviderChangeOptions(NoOptions):
    change_set_window: Duration = Field(
        default=timedelta(hours=6),
        description="The same change by one principal to several providers is one finding "
        "while the changes come less than this apart (a fleet-wide rollout).",
    )
    bootstrap_period: Duration = Field(
        default=timedelta(days=7),
        description="How long after a member account joins Control Tower's roles creating "
        "its baseline providers is expected (info).",
    )


class IdentityProviderChanged(Detector):
    """Check who made the change and whether it was planned: a new SAML metadata document means
    a new signing key, so compare ``evidence.metadata_sha256`` with the IdP's published metadata;
    for OIDC, check the client ids and thumbprints against the provider's documentation. Changes
    by IAM Identity Center's service-linked role (its routine rotation) are not reported.

    **Change sets.** The same change (the same call with the same client ids, metadata or
    issuer) by one principal to many providers, each less than ``change_set_window`` after the
    last, is one finding. A session of a role in an organization account counts as the role's
    name, since a fleet-wide apply makes the change from each account's own copy of one role.
    The first change is reported, ``evidence.change_set`` says what the set held then, and the
    rest are folded into the set. Severity follows what the change does to who can assume a
    role: a new provider, an audience (client id) added or removed, a metadata swap or a
    deletion stays high. A thumbprint rotation is info when its principal had changed a
    provider before, and high from a principal that never managed one.

    A provider created by Control Tower's own roles (``AWSControlTower*``) in a member account
    during its bootstrap period (joined in-stream or by the directory's ``JoinedTimestamp``)
    is the account's baseline being laid: info.

    What an attacker can hide behind it: a further change of the *same kind* by the same
    principal inside an open set (its later members are not reported one by one), and a
    thumbprint swap by a stolen session of the usual provider manager, or of a same-named role
    in any organization account (info: a thumbprint
    pins the issuer's TLS certificate, so abusing it also needs the issuer's DNS or network).
    A provider created in a new account by a session of a Control Tower-named role of
    that account, in its first days, is info. What they cannot: a change of another kind (a
    client id, metadata, a new provider outside a bootstrap) opens its own high set, and a
    principal that never managed providers is high whatever it does.
    """

    id = "identity_provider_changed"
    applies = NO_ASSUMPTION
    severity = Severity.HIGH
    summary = (
        "A SAML or OIDC identity provider was created, updated (metadata, client ids) or deleted, "
        "other than by IAM Identity Center's own rotation; a thumbprint rotation by a principal "
        "that managed providers before is info; one finding per change set."
    )
    needs = ("IAM identity-provider change events on the input", "state (change sets, managers)")
    dedup_by = "the change set: principal, change and the set's first change"
    Options = ProviderChangeOptions
    options: ProviderChangeOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        """Role assumptions are not provider changes (see :meth:`detect_provider_change`)."""
        return ()

    def detect_provider_change(
        self, change: ProviderChange, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if is_identity_center_rotation(change.caller):
            return
        principal, at = operator_principal(change.caller, ctx.enricher.org), change.event_time
        managed_before = ctx.state.touch(f"{self.id}:managers", principal, at) is not None
        sets = ChangeSets(self.id, self.options.change_set_window)
        key = f"{principal}|{_what(change)}"
        changes, opened = sets.add(ctx.state, key, at, change.account, change.provider_arn)
        if not opened:
            return
        routine = change.event_name == ROTATION and managed_before
        enrolment = self._enrolment(change, ctx)
        kind = "SAML" if change.provider_type == "saml" else "OIDC"
        name = change.provider_name or "an unnamed provider"
        yield change_finding(
            self,
            change,
            ctx,
            title=(
                f"{kind} identity provider {name} {_VERBS.get(change.action, change.action)} "
                f"({change.event_name} by {change.caller.identifier})"
            ),
            evidence={
                "change": change.event_name,
                "provider_type": change.provider_type,
                "provider_arn": change.provider_arn,
                **change.detail,
                "change_set": {
                    **changes.evidence(),
                    "window": human(self.options.change_set_window),
                },
                "principal_managed_providers_before": managed_before,
                "why": enrolment or _why(change, routine),
            },
            dedup=f"{key}@{changes.first}",
            account=change.account,
            severity=Severity.INFO if routine or enrolment else None,
        )

    def _enrolment(self, change: ProviderChange, ctx: DetectionContext) -> str | None:
        """Control Tower creating a provider of a member account's baseline during the
        account's bootstrap period: expected, info."""
        caller = change.caller
        name = role_name(caller.session_issuer_arn) or ""
        if (
            change.action != "create"
            or change.account is None
            or caller.account_id != change.account
        ):
            return None
        if not name.rsplit("/", 1)[-1].startswith(CONTROL_TOWER_CALLER):
            return None
        if not bootstrapping(ctx, change.account, change.event_time, self.options.bootstrap_period):
            return None
        return "Control Tower creating a new account's baseline provider, in its bootstrap period"

    def detect_organization_change(
        self, change: OrganizationChange, was_member: bool, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """An account that joins starts its bootstrap period; no finding."""
        if change.kind is MembershipChange.JOINED:
            note_joined(ctx, change.account, change.event_time, self.options.bootstrap_period)
        return ()


def _what(change: ProviderChange) -> str:
    """What makes two changes the same change: the call and what it wrote (not where)."""
    detail = change.detail
    written = detail.get("metadata_sha256") or ",".join(sorted(detail.get("client_ids", [])))
    if change.action == "create":
        written = written or detail.get("url") or change.provider_name or ""
    return f"{change.event_name}:{written}"


def _why(change: ProviderChange, routine: bool) -> str:
    if routine:
        return "thumbprint rotation by a principal that managed providers before"
    if change.event_name == ROTATION:
        return "thumbprint rotation by a principal that never managed providers"
    return "changes who the provider vouches for"
