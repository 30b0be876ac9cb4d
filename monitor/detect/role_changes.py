"""Change events on the input: applied to what the monitor knows at once, then judged.

Why entry points next to ``Detector.detect``: a change is not a role assumption, and detectors
that judge changes need what things looked like *before* it (the role's old trust policy,
whether the account was a member), which only the inventory knows at the moment the change is
applied. A detector takes part by also implementing one of the protocols below; it stays in the
one registry, so ``role-monitor detectors`` lists it and ``detectors.<id>.enabled`` /
``severity`` work as for any other. The change is applied whether or not any detector is on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from detectors.base import DetectionContext, Detector
from monitor.detect.catalog_memory import CatalogMemory
from monitor.detect.membership import Membership
from monitor.detect.outcomes import Outcomes
from monitor.findings import Finding
from monitor.intake.events import IdentityChange, OrganizationChange, ProviderChange, RoleChange
from monitor.inventory.roles import RoleLookup
from monitor.state.store import StateStore
from monitor.trust.enrich import Enricher

Change = RoleChange | ProviderChange | OrganizationChange | IdentityChange


@runtime_checkable
class ChangeDetector(Protocol):
    """A detector that also judges IAM role changes."""

    id: str

    def detect_change(
        self, change: RoleChange, before: RoleLookup, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """Findings on ``change``; ``before`` is the role as known just before it."""
        ...


@runtime_checkable
class ProviderChangeDetector(Protocol):
    """A detector that judges SAML / OIDC identity-provider changes."""

    id: str

    def detect_provider_change(
        self, change: ProviderChange, ctx: DetectionContext
    ) -> Iterable[Finding]: ...


@runtime_checkable
class OrganizationChangeDetector(Protocol):
    """A detector that judges organization membership changes."""

    id: str

    def detect_organization_change(
        self, change: OrganizationChange, was_member: bool, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """Findings on ``change``; ``was_member`` says whether the account was one before."""
        ...


@runtime_checkable
class IdentityChangeDetector(Protocol):
    """A detector that judges Roles Anywhere, Identity Center and Pod Identity changes."""

    id: str

    def detect_identity_change(
        self, change: IdentityChange, ctx: DetectionContext
    ) -> Iterable[Finding]: ...


class ChangeHandler:
    """Applies each change to the inventory, then runs the detectors that judge it."""

    def __init__(
        self,
        enricher: Enricher,
        detectors: Sequence[Detector],
        state: StateStore,
        outcomes: Outcomes,
    ) -> None:
        self.enricher = enricher
        self.detectors = list(detectors)
        self.outcomes = outcomes
        self.membership = Membership(enricher, state)
        self.catalog_memory = CatalogMemory(enricher.catalog.overlay, state)

    def handle(self, change: Change, ctx: DetectionContext) -> list[Finding]:
        """Apply ``change`` and return the findings of every detector judging its kind."""
        calls: list[tuple[str, Any, tuple[Any, ...]]] = []
        if isinstance(change, RoleChange):
            before = self.enricher.catalog.apply_change(change)
            self.catalog_memory.noted()
            calls = [
                (d.id, d.detect_change, (change, before, ctx))
                for d in self.detectors
                if isinstance(d, ChangeDetector)
            ]
        elif isinstance(change, ProviderChange):
            calls = [
                (d.id, d.detect_provider_change, (change, ctx))
                for d in self.detectors
                if isinstance(d, ProviderChangeDetector)
            ]
        elif isinstance(change, IdentityChange):
            calls = [
                (d.id, d.detect_identity_change, (change, ctx))
                for d in self.detectors
                if isinstance(d, IdentityChangeDetector)
            ]
        else:
            was_member = self.membership.apply(change)
            calls = [
                (d.id, d.detect_organization_change, (change, was_member, ctx))
                for d in self.detectors
                if isinstance(d, OrganizationChangeDetector)
            ]
        found: list[Finding] = []
        for detector_id, hook, args in calls:
            found.extend(self.outcomes.call(detector_id, change.event_id, hook, *args))
        return found
