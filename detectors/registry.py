"""The one place that lists every detector, and builds the enabled ones from the config.

Order matters only for reading: contract detectors first, then the ones beyond the contract.
No detector depends on another's order (see :meth:`detectors.base.Detector.after`).
"""

from __future__ import annotations

from pydantic import ValidationError

from detectors.base import Detector
from detectors.break_glass import BreakGlassAssumed, BreakGlassDenied
from detectors.bursts import AssumeRoleDeniedBurst, ManyRolesAssumed
from detectors.chains import RoleChainCrossAccount, RoleChainDepth, RoleChainLoop
from detectors.external_account import ExternalAccount, MissingExternalId
from detectors.federation import FederationSubjectNotAllowed, FederationUntrustedProvider
from detectors.federation_token import FederationTokenIssued
from detectors.first_seen import (
    BreakGlassPrincipalFirstSeen,
    CrossAccountFirstSeen,
    FederatedSubjectFirstSeen,
)
from detectors.flagged import FlaggedSessionUsed
from detectors.rates import ProviderRateAnomaly, RoleRateAnomaly
from detectors.root import RootSession, RootSessionDenied, RootTaskPolicyNotAllowed
from detectors.trust_policy import TrustPolicyOpened
from monitor.config.settings import ConfigError, Settings
from monitor.detect.planned import check_detectors

#: The contract detectors (marked so in docs/detectors.md): their ids and meanings never change.
CONTRACT: tuple[type[Detector], ...] = (
    ExternalAccount,
    CrossAccountFirstSeen,
    MissingExternalId,
    FederationUntrustedProvider,
    FederationSubjectNotAllowed,
    BreakGlassAssumed,
    BreakGlassDenied,
    RootSession,
    RoleChainCrossAccount,
    AssumeRoleDeniedBurst,
)

#: Beyond the contract.
BEYOND: tuple[type[Detector], ...] = (
    FederatedSubjectFirstSeen,
    BreakGlassPrincipalFirstSeen,
    ManyRolesAssumed,
    RootSessionDenied,
    RootTaskPolicyNotAllowed,
    RoleChainDepth,
    RoleChainLoop,
    FlaggedSessionUsed,
    RoleRateAnomaly,
    ProviderRateAnomaly,
    FederationTokenIssued,
    TrustPolicyOpened,
)

ALL: tuple[type[Detector], ...] = CONTRACT + BEYOND


def by_id() -> dict[str, type[Detector]]:
    return {detector.id: detector for detector in ALL}


def build(settings: Settings) -> list[Detector]:
    """Instances of every enabled detector with its options; unknown ids are config errors."""
    known = by_id()
    unknown = sorted(set(settings.detectors) - set(known))
    if unknown:
        raise ConfigError(f"detectors: unknown detector id {unknown[0]!r}")
    check_detectors(settings.maintenance_windows, known)
    built: list[Detector] = []
    for detector_id, cls in known.items():
        config = settings.detectors.get(detector_id)
        if config is not None and not config.enabled:
            continue
        try:
            options = cls.Options(**(config.knobs() if config else {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigError(f"detectors.{detector_id}.{where}: {first['msg']}") from exc
        built.append(cls(options))
    return built


# Contract detectors of the changes that widen who may assume a role, appended
# here rather than spliced into the tuples above so parallel additions merge cleanly.
from detectors.identity_provider import IdentityProviderChanged  # noqa: E402
from detectors.organization_change import AccountLeftOrganization  # noqa: E402

CONTRACT = (*CONTRACT, IdentityProviderChanged, AccountLeftOrganization)
ALL = CONTRACT + BEYOND

# Issue 22, the identity paths beside IAM trust policies: appended for the same reason.
from detectors.off_network import TokenReplayedOffNetwork  # noqa: E402
from detectors.permission_sets import PermissionSetEscalation  # noqa: E402
from detectors.pod_identity import PodIdentityNewBinding  # noqa: E402
from detectors.roles_anywhere import RolesAnywhereTrust  # noqa: E402
from detectors.session_token import SessionTokenIssued  # noqa: E402
from detectors.slow_enumeration import AssumeRoleSlowEnumeration  # noqa: E402
from detectors.source_identity import SourceIdentityMismatch  # noqa: E402

CONTRACT = (
    *CONTRACT,
    AssumeRoleSlowEnumeration,
    SessionTokenIssued,
    PodIdentityNewBinding,
    RolesAnywhereTrust,
    PermissionSetEscalation,
    TokenReplayedOffNetwork,
    SourceIdentityMismatch,
)
ALL = CONTRACT + BEYOND
