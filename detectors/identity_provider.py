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

from detectors.base import NO_ASSUMPTION, DetectionContext, Detector
from detectors.change_finding import change_finding
from monitor.findings import Finding, Severity
from monitor.intake.events import Caller, ProviderChange
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


def is_identity_center_rotation(caller: Caller) -> bool:
    """True for a session of IAM Identity Center's own service-linked role."""
    if caller.session_issuer_arn:
        return _IDENTITY_CENTER_ROLE.fullmatch(caller.session_issuer_arn) is not None
    return (
        caller.invoked_by == "sso.amazonaws.com"
        and caller.arn is not None
        and _IDENTITY_CENTER_SESSION.fullmatch(caller.arn) is not None
    )


class IdentityProviderChanged(Detector):
    """Check who made the change and whether it was planned: a new SAML metadata document means
    a new signing key, so compare ``evidence.metadata_sha256`` with the IdP's published metadata;
    for OIDC, check the client ids and thumbprints against the provider's documentation. Changes
    by IAM Identity Center's service-linked role (its routine rotation) are not reported.
    """

    id = "identity_provider_changed"
    applies = NO_ASSUMPTION
    severity = Severity.HIGH
    summary = (
        "A SAML or OIDC identity provider was created, updated (metadata, thumbprints, client "
        "ids) or deleted, other than by IAM Identity Center's own rotation."
    )
    needs = ("IAM identity-provider change events on the input",)
    dedup_by = "the change record: every change is its own finding"

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        """Role assumptions are not provider changes (see :meth:`detect_provider_change`)."""
        return ()

    def detect_provider_change(
        self, change: ProviderChange, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if is_identity_center_rotation(change.caller):
            return
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
            },
            dedup=change.event_id,
            account=change.account,
        )
