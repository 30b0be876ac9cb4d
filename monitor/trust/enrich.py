"""Enrichment: a RoleEvent plus what the monitor knows about its role and its caller.

Besides the role's metadata and the caller's category, each assumption carries the role's parsed
trust policy and the grant that admitted the caller (see ``monitor.trust.admission``). Parsing
happens once per policy version: parsed policies are cached by account and a hash of the document,
so a policy changed on the stream is parsed anew while a busy role costs one dictionary lookup.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.aws.accounts import rung
from monitor.aws.principals import IdentityType
from monitor.config.settings import Settings
from monitor.intake.events import RoleEvent
from monitor.inventory.catalog import RoleCatalog, RoleInfo, RoleLookup
from monitor.inventory.organization import OrgDirectory
from monitor.trust.admission import best_admission, caller_facts, grant_evidence
from monitor.trust.break_glass import is_break_glass
from monitor.trust.match import CallerFacts, GrantMatch
from monitor.trust.network import network_class
from monitor.trust.policy import GrantScope, TrustPolicy, classify, parse_trust_policy
from monitor.trust.posture import Weakness, weaknesses

POLICY_CACHE_SIZE = 4096
#: Remembered (policy, caller facts) → admitting grant answers (see Enricher._admission).
ADMISSION_CACHE_SIZE = 16384


@dataclass(frozen=True, slots=True)
class EnrichedEvent:
    """What every detector receives."""

    event: RoleEvent
    lookup: RoleLookup
    #: Caller category (a bounded set, used as a metric label): same_account, organization,
    #: vendor, external, saml, web_identity, service, root, unknown.
    category: str
    break_glass: bool
    #: The role's trust policy, parsed; None when the role's metadata is not known.
    trust: TrustPolicy | None = None
    #: The Allow grant that admitted the caller, best verified first; None when none visibly did.
    grant: GrantMatch | None = None
    grant_scope: GrantScope | None = None
    #: Posture weakness codes of the admitting grant (report material, never a finding alone).
    grant_weaknesses: tuple[str, ...] = ()
    #: False for calls no trust policy governs (AssumeRoot, GetSessionToken, ...).
    trust_applies: bool = False
    #: Where the call came from (``monitor.trust.network``): aws_service, declared_network,
    #: other, or no_network_declared.
    network: str = "no_network_declared"

    @property
    def role(self) -> RoleInfo | None:
        return self.lookup.role

    def trust_grant_evidence(self) -> dict[str, Any] | None:
        """The ``trust_grant`` evidence entry; None when no trust policy governs the call."""
        if not self.trust_applies:
            return None
        if self.trust is None:
            why = f"trust policy not known (role metadata {self.lookup.label})"
        else:
            why = "no visible grant"
        scope = self.grant_scope.value if self.grant_scope else None
        return grant_evidence(self.grant, scope, self.grant_weaknesses, why)


class Enricher:
    """Looks up the role, matches the caller against its trust policy, classifies the caller."""

    def __init__(self, settings: Settings, catalog: RoleCatalog, org: OrgDirectory) -> None:
        self.settings = settings
        self.catalog = catalog
        self.org = org
        self._trusted = frozenset(settings.trusted_external_accounts)
        self._org_id = settings.organization.id
        self.org_accounts = frozenset(org.accounts)
        self._policies: OrderedDict[tuple[str, str], tuple[TrustPolicy, list[Weakness]]]
        self._policies = OrderedDict()
        self._admissions: dict[tuple[object, ...], tuple[TrustPolicy, GrantMatch | None]] = {}

    def enrich(self, event: RoleEvent) -> EnrichedEvent:
        lookup = self.catalog.lookup(event.role_arn)
        facts = caller_facts(event)
        role = lookup.role
        parsed = self.trust_policy(role) if facts and role is not None else None
        trust, weak = parsed if parsed is not None else (None, [])
        match = self._admission(trust, facts) if trust is not None else None
        return EnrichedEvent(
            event=event,
            lookup=lookup,
            category=self.category(event),
            break_glass=is_break_glass(event.role_arn, role, self.settings.break_glass),
            trust=trust,
            grant=match,
            grant_scope=self._scope(match, role),
            grant_weaknesses=tuple(w.code.value for w in weak if match and w.grant == match.grant),
            trust_applies=bool(facts),
            network=network_class(self.settings, event),
        )

    def _admission(self, trust: TrustPolicy, facts: list[CallerFacts]) -> GrantMatch | None:
        """:func:`best_admission`, remembered: it depends on the policy and the facts alone, and
        the same caller assumes the same role again and again (half the bench's assumptions).

        Keyed by the parsed policy's identity; the entry holds the policy, so that identity
        cannot be reused by another object while the entry lives.
        """
        key = (id(trust), *facts)
        cached = self._admissions.get(key)
        if cached is not None and cached[0] is trust:
            return cached[1]
        match = best_admission(trust, facts)
        self._admissions[key] = (trust, match)
        if len(self._admissions) > ADMISSION_CACHE_SIZE:
            del self._admissions[next(iter(self._admissions))]  # the oldest entry
        return match

    def trust_policy(self, role: RoleInfo) -> tuple[TrustPolicy, list[Weakness]] | None:
        """The role's parsed policy and its posture weaknesses, cached per policy version.

        Keyed by account and document, not by role: the parse depends on the document alone and
        the weaknesses on the account, and organizations stamp one trust policy onto many roles
        (SSO permission sets, workload templates), so those share one entry.
        """
        if role.trust_policy is None:
            return None
        key = (role.account, policy_hash(role.trust_policy))
        cached = self._policies.get(key)
        if cached is not None:
            self._policies.move_to_end(key)
            return cached
        policy = parse_trust_policy(dict(role.trust_policy))
        weak = weaknesses(policy, role.account, self.org_accounts, self._trusted, self._org_id)
        self._policies[key] = (policy, weak)
        if len(self._policies) > POLICY_CACHE_SIZE:
            self._policies.popitem(last=False)
        return policy, weak

    def category(self, event: RoleEvent) -> str:
        if event.event_name == "AssumeRoot":
            return "root"
        if event.federation is not None:
            return event.federation.kind
        if event.caller.identity_type == IdentityType.AWS_SERVICE:
            return "service"
        return self.account_relation(event.principal_account, event.role_account)

    def account_relation(self, source: str | None, target: str | None) -> str:
        """same_account, organization, vendor, external or unknown for a pair of accounts."""
        if not source or not target:
            return "unknown"
        return rung(source, target, self.org, self._trusted).value

    def replace_org(self, org: OrgDirectory) -> None:
        """The organization changed on the stream: classify against ``org`` from now on."""
        self.org = org
        self.org_accounts = frozenset(org.accounts)
        self._policies.clear()  # cached weaknesses were judged against the old members

    def _scope(self, match: GrantMatch | None, role: RoleInfo | None) -> GrantScope | None:
        if match is None or role is None:
            return None
        return classify(match.grant, role.account, self.org_accounts, self._trusted)


def policy_hash(document: Mapping[str, Any]) -> str:
    """A digest of a policy document that ignores key order."""
    try:
        text = orjson.dumps(dict(document), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a hand-written snapshot may hold non-JSON values
        text = repr(sorted(document.items(), key=str)).encode()
    return hashlib.sha256(text).hexdigest()
