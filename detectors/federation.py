"""SAML and web-identity (OIDC) assumptions through providers or subjects not allowed.

Providers are matched by name (what follows ``saml-provider/`` or ``oidc-provider/``, or a bare
issuer such as ``cognito-identity.amazonaws.com``) and by full ARN, so one allow-list serves
IAM Identity Center (``AWSSSO_*``), GitHub Actions, EKS and Cognito alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from detectors.base import Applies, DetectionContext, Detector, short_role
from monitor.findings import Finding, Severity
from monitor.intake.events import Federation
from monitor.trust.enrich import EnrichedEvent


def provider_allowed(federation: Federation, patterns: Iterable[str]) -> bool:
    """A glob matches the provider's name (after ``saml-provider/``/``oidc-provider/``, or the
    bare issuer) or its full ARN."""
    candidates = [c for c in (federation.provider_name, federation.provider) if c]
    return any(fnmatchcase(c, p) for p in patterns for c in candidates)


def allowed_subject_patterns(federation: Federation, config: dict[str, list[str]]) -> list[str]:
    """The subject globs configured for this provider (by name or ARN); [] when none are."""
    for key in (federation.provider_name, federation.provider):
        if key and key in config:
            return config[key]
    return []


def _kind(federation: Federation) -> str:
    return "SAML" if federation.kind == "saml" else "Web identity"


class FederationUntrustedProvider(Detector):
    """A SAML or web-identity session came through an identity provider not in
    ``federation.allowed_providers``.

    Why it matters: whoever controls that provider can mint sessions in the role; a new
    provider is a classic persistence step. An empty allow-list means no provider is allowed:
    list yours (e.g. ``AWSSSO_*`` for IAM Identity Center) or disable the detector. Repeats
    through the same provider into the same role merge within the dedup window.
    """

    id = "federation_untrusted_provider"
    applies = Applies(succeeded=True, federated=True)
    dedup_by = "provider and role"
    severity = Severity.HIGH
    summary = "A SAML / web-identity assumption through a provider not in allowed_providers."
    needs = ("federation.allowed_providers",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        federation = ev.event.federation
        if federation is None:  # never: applies admits federated calls only (for mypy)
            return
        allowed = ctx.settings.federation.allowed_providers
        if provider_allowed(federation, allowed):
            return
        yield self.finding(
            ev,
            f"{_kind(federation)} provider {federation.provider_name or 'unknown'} (not allowed) "
            f"used to assume {short_role(ev.event.role_arn)}",
            {
                "provider": federation.provider,
                "provider_name": federation.provider_name,
                "subject": federation.subject,
                "allowed_providers": list(allowed),
            },
            dedup=f"{federation.provider}->{ev.event.role_arn}",
        )


class FederationSubjectNotAllowed(Detector):
    """A federated subject matches none of the globs its provider has in
    ``federation.allowed_subjects`` (a provider absent there allows any subject).

    For GitHub Actions the subject names the repository and ref (``repo:org/repo:ref:...``): a
    repository outside your organisation assuming your role means the trust policy's ``sub``
    condition is too loose. Applies to web identity as the contract says, and also to SAML
    subjects when their provider is configured. Merged per (provider, subject, role).
    """

    id = "federation_subject_not_allowed"
    applies = Applies(succeeded=True, federated=True)
    dedup_by = "provider, subject and role"
    severity = Severity.HIGH
    summary = (
        "A web-identity subject (e.g. GitHub repo:org/repo:ref:...) matches none of its "
        "provider's allowed_subjects."
    )
    needs = ("federation.allowed_subjects",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        federation = ev.event.federation
        if federation is None:  # never: applies admits federated calls only (for mypy)
            return
        patterns = allowed_subject_patterns(federation, ctx.settings.federation.allowed_subjects)
        if not patterns:
            return
        subject = federation.subject or ""
        if subject and any(fnmatchcase(subject, pattern) for pattern in patterns):
            return
        yield self.finding(
            ev,
            f"{_kind(federation)} subject {subject or '(none)'} from "
            f"{federation.provider_name} is not allowed to assume {short_role(ev.event.role_arn)}",
            {
                "provider": federation.provider,
                "subject": federation.subject,
                "audience": federation.audience,
                "allowed_subjects": list(patterns),
            },
            dedup=f"{federation.provider}|{subject}->{ev.event.role_arn}",
        )
