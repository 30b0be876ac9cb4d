"""Enrichment: a RoleEvent plus what the monitor knows about its role and its caller.

Besides the role's metadata and the caller's category, each assumption carries the role's parsed
trust policy and the grant that admitted the caller (see ``monitor.trust.admission``). All of it
is computed once per catalog version of the role and per caller (``monitor.trust.facts``): a
policy changed on the stream is parsed anew, while a known caller of a known role costs a few
dictionary lookups.
"""

from __future__ import annotations

import hashlib
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
from monitor.trust.facts import NO_ADMISSION, Admission, Bounded, PolicyFacts, RoleFacts
from monitor.trust.match import CallerFacts, GrantMatch
from monitor.trust.network import network_class
from monitor.trust.policy import GrantScope, TrustPolicy, classify, parse_trust_policy
from monitor.trust.posture import Weakness, weaknesses

#: Roles whose facts are kept (each with its catalog version); more than most estates have.
ROLE_CACHE_SIZE = 65_536
#: Parsed policies by (account, document); roles keep theirs, so this only shares them.
POLICY_CACHE_SIZE = 16_384
#: Remembered (policy, caller facts) → admitting grant answers (see Enricher._admission).
ADMISSION_CACHE_SIZE = 32_768


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
    """Looks up the role, matches the caller against its trust policy, classifies the caller.

    What it adds is remembered (``monitor.trust.facts``): a role's facts per catalog version of
    the role, a parsed policy per (account, document), the admitting grant per (policy, the
    caller facts it can depend on).
    """

    def __init__(self, settings: Settings, catalog: RoleCatalog, org: OrgDirectory) -> None:
        self.settings = settings
        self.catalog = catalog
        self.org = org
        self._trusted = frozenset(settings.trusted_external_accounts)
        self._org_id = settings.organization.id
        self.org_accounts = frozenset(org.accounts)
        self._roles: Bounded[str, RoleFacts] = Bounded(ROLE_CACHE_SIZE)
        self._policies: Bounded[tuple[str, str], PolicyFacts] = Bounded(POLICY_CACHE_SIZE)
        self._admissions: Bounded[tuple[object, ...], Admission] = Bounded(ADMISSION_CACHE_SIZE)

    def enrich(self, event: RoleEvent) -> EnrichedEvent:
        lookup = self.catalog.lookup(event.role_arn)
        facts = caller_facts(event)
        role = lookup.role
        known = self.role_facts(role, event.role_arn) if role is not None else None
        policy = known.policy if facts and known is not None else None
        admission = self._admission(policy, facts) if policy is not None else NO_ADMISSION
        return EnrichedEvent(
            event=event,
            lookup=lookup,
            category=self.category(event),
            break_glass=self._break_glass(event.role_arn, role, known),
            trust=policy.policy if policy is not None else None,
            grant=admission.match,
            grant_scope=admission.scope,
            grant_weaknesses=admission.weaknesses,
            trust_applies=bool(facts),
            network=network_class(self.settings, event),
        )

    def role_facts(self, role: RoleInfo, role_arn: str | None) -> RoleFacts:
        """The role's facts for this catalog version of it, computed on first sight.

        A change to the role (trust policy, tags, a live refresh) gives a new ``RoleInfo``, so
        exactly that role's entry is recomputed on its next assumption.
        """
        cached = self._roles.get(role.arn)
        if cached is not None and cached.role is role:
            return cached
        glass = is_break_glass(role_arn, role, self.settings.break_glass)
        return self._roles.put(role.arn, RoleFacts(role, self._policy(role), role_arn, glass))

    def _break_glass(self, arn: str | None, role: RoleInfo | None, known: RoleFacts | None) -> bool:
        if known is not None and arn == known.arn:
            return known.break_glass
        return is_break_glass(arn, role, self.settings.break_glass)

    def _admission(self, policy: PolicyFacts, facts: list[CallerFacts]) -> Admission:
        """:func:`best_admission` with its scope and weaknesses, remembered: it depends on the
        policy and the caller facts alone, and the same callers assume the same roles again
        and again. Keyed by the policy's facts object (held by the key, so never reused)."""
        key = (policy, *map(policy.caller_key, facts))
        cached = self._admissions.get(key)
        if cached is not None:
            return cached
        match = best_admission(policy.policy, facts)
        if match is None:
            return self._admissions.put(key, NO_ADMISSION)
        scope = classify(match.grant, policy.account, self.org_accounts, self._trusted)
        codes = tuple(w.code.value for w in policy.weaknesses if w.grant == match.grant)
        return self._admissions.put(key, Admission(match, scope, codes))

    def trust_policy(self, role: RoleInfo) -> tuple[TrustPolicy, list[Weakness]] | None:
        """The role's parsed policy and its posture weaknesses (shared, never to be changed)."""
        policy = self._policy(role)
        return None if policy is None else (policy.policy, policy.weaknesses)

    def _policy(self, role: RoleInfo) -> PolicyFacts | None:
        """The role's parsed policy and its posture weaknesses, shared per policy version.

        Keyed by account and document, not by role: the parse depends on the document alone and
        the weaknesses on the account, and organizations stamp one trust policy onto many roles
        (SSO permission sets, workload templates), so those share one entry.
        """
        if role.trust_policy is None:
            return None
        key = (role.account, policy_hash(role.trust_policy))
        cached = self._policies.get(key)
        if cached is not None:
            return cached
        policy = parse_trust_policy(dict(role.trust_policy))
        weak = weaknesses(policy, role.account, self.org_accounts, self._trusted, self._org_id)
        return self._policies.put(key, PolicyFacts.of(policy, weak, role.account))

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
        # Weaknesses and grant scopes were judged against the old members.
        self._roles.clear()
        self._policies.clear()
        self._admissions.clear()


def policy_hash(document: Mapping[str, Any]) -> str:
    """A digest of a policy document that ignores key order."""
    try:
        text = orjson.dumps(dict(document), option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a hand-written snapshot may hold non-JSON values
        text = repr(sorted(document.items(), key=str)).encode()
    return hashlib.sha256(text).hexdigest()
