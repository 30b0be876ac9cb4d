"""Trust-policy model: who an IAM role's `AssumeRolePolicyDocument` lets in, and on what terms.

Why a model of its own: the pipeline enriches every role-assumption event with the grant that
admitted the caller, and the posture report reads the same policies in bulk. Both need one
normalised shape (`TrustGrant`: one principal of one statement, with its actions and conditions)
instead of the half-dozen spellings IAM accepts. Everything here is pure value types and imports
none of its siblings: reading a document lives in `trust_parse`, matching a caller in
`trust_match`, posture findings in `trust_posture`; `trust` puts the four behind one import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from monitor.aws.accounts import Rung, rung
from monitor.aws.arns import arn_resource
from monitor.aws.principals import PrincipalKind

ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity")
"""The actions that actually hand out a session; `sts:TagSession` and friends only ride along."""

_POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
)
_NEGATED_OPERATORS = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "arnnotequals",
        "arnnotlike",
        "numericnotequals",
        "datenotequals",
        "notipaddress",
    }
)
_MFA_AGE_OPERATORS = frozenset({"numericlessthan", "numericlessthanequals"})


class Effect(StrEnum):
    """A statement's effect; a matching Deny always beats any Allow."""

    ALLOW = "Allow"
    DENY = "Deny"


class GrantScope(StrEnum):
    """How far from the role's own account a grant reaches, the axis posture is judged on."""

    SAME_ACCOUNT = "same_account"
    ORGANIZATION = "organization"
    VENDOR = "trusted_vendor"  # the vendor rung; the posture report's spelling
    EXTERNAL = "external"
    PUBLIC = "public"
    SERVICE = "service"
    FEDERATED = "federated"
    UNRESOLVED = "unresolved"
    """The principal names no readable account (unique id, malformed ARN, canonical user)."""


def iam_glob_match(pattern: str, value: str) -> bool:
    """IAM `*`/`?` wildcard matching; unlike fnmatch, `[` is a literal as it is in IAM."""
    return _glob_regex(pattern).fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=4096)
def _action_covered(actions: tuple[str, ...], not_actions: tuple[str, ...], action: str) -> bool:
    """`TrustGrant.allows_action`, remembered: asked for every grant of every assumption."""
    wanted = action.lower()
    if actions:
        return any(iam_glob_match(a.lower(), wanted) for a in actions)
    return not any(iam_glob_match(a.lower(), wanted) for a in not_actions)


def provider_name(value: str) -> str:
    """What follows `saml-provider/` or `oidc-provider/` in a provider ARN, else the bare issuer.

    This is the name the `federation` configuration globs match, and, for OIDC, the prefix of the
    provider's condition keys (`token.actions.githubusercontent.com:sub`).
    """
    resource = arn_resource(value)
    if resource is not None:
        for prefix in ("saml-provider/", "oidc-provider/"):
            if resource.startswith(prefix):
                return resource[len(prefix) :]
    return value


def oidc_claim_key(key: str) -> tuple[str, str] | None:
    """Split `<issuer>:<claim>` into (issuer, claim); None for `aws:`/`sts:`/`saml:` keys.

    An issuer is a host name (with an optional path), so it always holds a dot; the global
    condition-key prefixes never do.
    """
    issuer, sep, claim = key.rpartition(":")
    if not sep or "." not in issuer:
        return None
    return issuer.lower(), claim.lower()


@dataclass(frozen=True, slots=True)
class TrustCondition:
    """One (operator, key) pair of a statement's `Condition`, values flattened to strings.

    `key` is lower-cased because IAM condition keys are case-insensitive; values keep their case
    because most comparisons on them (sub, ExternalId) are case-sensitive.
    """

    operator: str
    key: str
    values: tuple[str, ...]

    @property
    def qualifier(self) -> str | None:
        """`foranyvalue` or `forallvalues` when the operator carries a set qualifier."""
        head, sep, _ = self.operator.partition(":")
        return head.lower() if sep else None

    @property
    def base(self) -> str:
        """Operator without qualifier and `IfExists`, lower-cased: `stringlike`, `bool`, …"""
        return self.operator.rpartition(":")[2].lower().removesuffix("ifexists")

    @property
    def if_exists(self) -> bool:
        """True when a missing key satisfies the condition."""
        return self.operator.lower().endswith("ifexists")

    @property
    def is_positive(self) -> bool:
        """True for equality/like operators: the values listed are what the policy accepts."""
        return self.base in _POSITIVE_OPERATORS

    @property
    def is_negated(self) -> bool:
        """True for `…Not…` operators, which IAM treats as satisfied when the key is missing."""
        return self.base in _NEGATED_OPERATORS

    @property
    def requires_key(self) -> bool:
        """True when the request must carry the key: positive, no `IfExists`, no ForAllValues."""
        return self.is_positive and not self.if_exists and self.qualifier != "forallvalues"


@dataclass(frozen=True, slots=True)
class PrincipalRef:
    """One principal as written, with the kind and account read from it."""

    kind: PrincipalKind
    value: str
    account: str | None = None


@dataclass(frozen=True, slots=True)
class TrustGrant:
    """One principal of one statement: the unit the monitor matches callers and judges posture on.

    A `NotPrincipal` statement becomes a single PUBLIC grant whose `excluded_principals` lists
    what it names, because "everyone but these" is what it means.
    """

    effect: Effect
    principal_kind: PrincipalKind
    principal: str
    principal_account: str | None
    actions: tuple[str, ...]
    conditions: tuple[TrustCondition, ...] = ()
    not_actions: tuple[str, ...] = ()
    excluded_principals: tuple[PrincipalRef, ...] = ()
    statement_index: int = 0
    sid: str | None = None

    @property
    def principal_ref(self) -> PrincipalRef:
        """The grant's principal as a `PrincipalRef`, for code that also handles exclusions."""
        return PrincipalRef(self.principal_kind, self.principal, self.principal_account)

    def allows_action(self, action: str) -> bool:
        """Whether `Action`/`NotAction` covers `action` (IAM wildcards, case-insensitive)."""
        return _action_covered(self.actions, self.not_actions, action)

    @property
    def allows_assumption(self) -> bool:
        """True when the grant covers an action that yields a session, not only TagSession etc."""
        return any(self.allows_action(action) for action in ASSUME_ACTIONS)

    @property
    def oidc_issuer(self) -> str | None:
        """The issuer of an OIDC grant (`token.actions.githubusercontent.com`), lower-cased."""
        if self.principal_kind is not PrincipalKind.OIDC_PROVIDER:
            return None
        return provider_name(self.principal).lower()

    @property
    def requires_external_id(self) -> bool:
        """True when no request without an `sts:ExternalId` can satisfy the conditions."""
        return any(
            c.requires_key or (c.base == "null" and c.values == ("false",) and not c.qualifier)
            for c in self._on("sts:externalid")
        )

    @property
    def requires_mfa(self) -> bool:
        """True when a session without MFA fails the conditions.

        `BoolIfExists` does not count: long-term access keys carry no MFA key at all, so it lets
        them through; a bound on `aws:MultiFactorAuthAge` does, since that key exists only
        with MFA.
        """
        present = any(
            c.base == "bool" and not c.if_exists and c.values == ("true",)
            for c in self._on("aws:multifactorauthpresent")
        )
        aged = any(
            c.base in _MFA_AGE_OPERATORS and not c.if_exists
            for c in self._on("aws:multifactorauthage")
        )
        return present or aged

    @property
    def external_ids(self) -> tuple[str, ...]:
        """External ids the grant accepts."""
        return self._accepted(lambda key: key == "sts:externalid")

    @property
    def oidc_subject_patterns(self) -> tuple[str, ...]:
        """Accepted values of any `<issuer>:sub` key (patterns when the operator is a Like)."""
        return self._accepted(lambda key: _claim_of(key) == "sub")

    @property
    def oidc_audiences(self) -> tuple[str, ...]:
        """Accepted values of any `<issuer>:aud` key."""
        return self._accepted(lambda key: _claim_of(key) == "aud")

    @property
    def saml_audiences(self) -> tuple[str, ...]:
        """Accepted values of `SAML:aud`."""
        return self._accepted(lambda key: key == "saml:aud")

    @property
    def org_ids(self) -> tuple[str, ...]:
        """Accepted values of `aws:PrincipalOrgID`."""
        return self._accepted(lambda key: key == "aws:principalorgid")

    @property
    def source_accounts(self) -> tuple[str, ...]:
        """Accepted values of `aws:SourceAccount` (service principals acting for a resource)."""
        return self._accepted(lambda key: key == "aws:sourceaccount")

    def _on(self, key: str) -> tuple[TrustCondition, ...]:
        return tuple(c for c in self.conditions if c.key == key)

    def _accepted(self, wanted: Callable[[str], bool]) -> tuple[str, ...]:
        """Values of positive conditions on matching keys; negated ones list what is refused."""
        return tuple(
            v for c in self.conditions if c.is_positive and wanted(c.key) for v in c.values
        )


def _claim_of(key: str) -> str | None:
    parsed = oidc_claim_key(key)
    return parsed[1] if parsed else None


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """All grants of one trust policy plus what could not be read from it.

    `problems` is never a reason to drop the policy: the grants that were readable still tell
    who may assume the role.
    """

    grants: tuple[TrustGrant, ...] = ()
    problems: tuple[str, ...] = ()
    version: str | None = None

    @property
    def allows(self) -> tuple[TrustGrant, ...]:
        """The Allow grants, in statement order."""
        return tuple(g for g in self.grants if g.effect is Effect.ALLOW)

    @property
    def denies(self) -> tuple[TrustGrant, ...]:
        """The Deny grants, in statement order."""
        return tuple(g for g in self.grants if g.effect is Effect.DENY)


_SCOPE_BY_KIND = {
    PrincipalKind.PUBLIC: GrantScope.PUBLIC,
    PrincipalKind.SERVICE: GrantScope.SERVICE,
    PrincipalKind.SAML_PROVIDER: GrantScope.FEDERATED,
    PrincipalKind.OIDC_PROVIDER: GrantScope.FEDERATED,
    PrincipalKind.CANONICAL_USER: GrantScope.UNRESOLVED,
    PrincipalKind.UNIQUE_ID: GrantScope.UNRESOLVED,
}


_SCOPE_BY_RUNG = {
    Rung.SAME_ACCOUNT: GrantScope.SAME_ACCOUNT,
    Rung.ORGANIZATION: GrantScope.ORGANIZATION,
    Rung.VENDOR: GrantScope.VENDOR,
    Rung.EXTERNAL: GrantScope.EXTERNAL,
}


def classify(
    grant: TrustGrant,
    role_account: str | None,
    org_accounts: frozenset[str],
    trusted_accounts: frozenset[str],
) -> GrantScope:
    """Place a grant on the same-account → organisation → vendor → external ladder.

    Membership of the organisation wins over the vendor list (an account in both is ours), and an
    AWS principal whose account cannot be read is UNRESOLVED rather than guessed external.
    """
    scope = _SCOPE_BY_KIND.get(grant.principal_kind)
    if scope is not None:
        return scope
    account = grant.principal_account
    if account is None:
        return GrantScope.UNRESOLVED
    return _SCOPE_BY_RUNG[rung(account, role_account, org_accounts, trusted_accounts)]
