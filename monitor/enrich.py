"""Enrichment: a RoleEvent plus what the monitor knows about its role and its caller."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from monitor.config import BreakGlassConfig, Settings
from monitor.events import RoleEvent
from monitor.inventory.catalog import RoleCatalog, RoleInfo, RoleLookup
from monitor.inventory.organization import OrgDirectory


@dataclass(frozen=True, slots=True)
class EnrichedEvent:
    """What every detector receives."""

    event: RoleEvent
    lookup: RoleLookup
    #: Caller category (a bounded set, used as a metric label): same_account, organization,
    #: vendor, external, saml, web_identity, service, root, unknown.
    category: str
    break_glass: bool

    @property
    def role(self) -> RoleInfo | None:
        return self.lookup.role


class Enricher:
    """Looks up the role and classifies the caller; holds no per-event state."""

    def __init__(self, settings: Settings, catalog: RoleCatalog, org: OrgDirectory) -> None:
        self.settings = settings
        self.catalog = catalog
        self.org = org
        self._trusted = frozenset(settings.trusted_external_accounts)

    def enrich(self, event: RoleEvent) -> EnrichedEvent:
        lookup = self.catalog.lookup(event.role_arn)
        return EnrichedEvent(
            event=event,
            lookup=lookup,
            category=self.category(event),
            break_glass=is_break_glass(event.role_arn, lookup.role, self.settings.break_glass),
        )

    def category(self, event: RoleEvent) -> str:
        if event.event_name == "AssumeRoot":
            return "root"
        if event.federation is not None:
            return event.federation.kind
        if event.caller.identity_type == "AWSService":
            return "service"
        return self.account_relation(event.principal_account, event.role_account)

    def account_relation(self, source: str | None, target: str | None) -> str:
        """same_account, organization, vendor, external or unknown for a pair of accounts."""
        if not source or not target:
            return "unknown"
        if source == target:
            return "same_account"
        if source in self.org:
            return "organization"
        if source in self._trusted:
            return "vendor"
        return "external"


def is_break_glass(role_arn: str | None, role: RoleInfo | None, config: BreakGlassConfig) -> bool:
    """By ARN, by role-name pattern (case-insensitive) or by a matching tag on the role."""
    if not role_arn:
        return False
    if role_arn in config.role_arns:
        return True
    name = role_arn.rsplit("/", 1)[-1].lower()
    if any(fnmatchcase(name, pattern.lower()) for pattern in config.role_name_patterns):
        return True
    if role is None:
        return False
    tags = {key.lower(): value.lower() for key, value in role.tags.items()}
    return any(tags.get(key.lower()) == value.lower() for key, value in config.role_tags.items())
