"""SAML and web-identity (OIDC) assumptions through providers or subjects not allowed."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from detectors.base import DetectionContext, Detector, short_role
from monitor.enrich import EnrichedEvent
from monitor.events import Federation
from monitor.findings import Finding, Severity


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


class FederationUntrustedProvider(Detector):
    id = "federation_untrusted_provider"
    severity = Severity.HIGH
    summary = "A SAML / web-identity assumption through a provider not in allowed_providers."
    needs = ("federation.allowed_providers",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        federation = ev.event.federation
        if federation is None or not ev.event.succeeded:
            return
        allowed = ctx.settings.federation.allowed_providers
        if provider_allowed(federation, allowed):
            return
        yield self.finding(
            ev,
            f"{'SAML' if federation.kind == 'saml' else 'Web identity'} provider "
            f"{federation.provider_name or 'unknown'} (not allowed) used to assume "
            f"{short_role(ev.event.role_arn)}",
            {"provider": federation.provider, "allowed_providers": list(allowed)},
            dedup=f"{federation.provider}:{ev.event.role_arn}:{ev.event.assumption_id}",
        )


class FederationSubjectNotAllowed(Detector):
    id = "federation_subject_not_allowed"
    severity = Severity.HIGH
    summary = (
        "A web-identity subject (e.g. GitHub repo:org/repo:ref:...) matches none of its "
        "provider's allowed_subjects."
    )
    needs = ("federation.allowed_subjects",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        federation = ev.event.federation
        if federation is None or federation.kind != "web_identity" or not ev.event.succeeded:
            return
        patterns = allowed_subject_patterns(federation, ctx.settings.federation.allowed_subjects)
        if not patterns or not federation.subject:
            return
        if any(fnmatchcase(federation.subject, pattern) for pattern in patterns):
            return
        yield self.finding(
            ev,
            f"Web-identity subject {federation.subject} from {federation.provider_name} "
            f"is not allowed to assume {short_role(ev.event.role_arn)}",
            {"subject": federation.subject, "allowed_subjects": list(patterns)},
        )
