"""Which grant of a trust policy let a given caller in, judged from what CloudTrail tells us.

Why approximate on purpose: a CloudTrail record shows the caller, the action and a few facts
(MFA, whether an external id was sent, the web-identity subject) but never the org id, source
IP or tags IAM evaluated. So a condition is evaluated only when the facts decide it; otherwise it
is assumed satisfied and returned in `GrantMatch.unverified_conditions`, letting detectors tell
"admitted by this grant" from "admitted by this grant, if the org id matched".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from monitor.aws.arns import account_id, arn_resource, parse_arn, role_arn, role_key
from monitor.trust.model import (
    PrincipalKind,
    PrincipalRef,
    TrustCondition,
    TrustGrant,
    TrustPolicy,
    iam_glob_match,
    oidc_claim_key,
    provider_name,
)


@dataclass(frozen=True, slots=True)
class CallerFacts:
    """What an event says about the caller; None means "the event does not say"."""

    action: str
    principal_arn: str | None = None
    principal_account: str | None = None
    service: str | None = None
    federated_provider: str | None = None
    web_identity_subject: str | None = None
    audience: str | None = None
    external_id_present: bool | None = None
    mfa: bool | None = None
    source_account: str | None = None

    @property
    def account(self) -> str | None:
        """The caller's account, from `principal_account` or else its ARN."""
        if self.principal_account:
            return self.principal_account
        return account_id(self.principal_arn) if self.principal_arn else None

    @property
    def is_iam_principal(self) -> bool:
        """True when the caller is known to be a user/role/account rather than a service or IdP."""
        known = self.principal_arn is not None or self.principal_account is not None
        return known and self.service is None and self.federated_provider is None


@dataclass(frozen=True, slots=True)
class GrantMatch:
    """An Allow grant that admits the caller, with what could not be checked.

    `possible_denials` are Deny grants that may target the caller but depend on facts the event
    lacks. `principal_verified` is False when the event names only the caller's account (the role
    owner's copy of a cross-account call) and the grant names a user or role in that account.
    """

    grant: TrustGrant
    unverified_conditions: tuple[TrustCondition, ...] = ()
    possible_denials: tuple[TrustGrant, ...] = ()
    principal_verified: bool = True

    @property
    def verified(self) -> bool:
        """True when the facts decided principal and conditions, and no Deny might apply."""
        return self.principal_verified and not (self.unverified_conditions or self.possible_denials)


class _Context(Enum):
    """Request-context states besides a known string value."""

    ABSENT = "absent"
    OPAQUE = "opaque"
    """The key is present but its value is not in the event (e.g. the external id itself)."""


_ABSENT, _OPAQUE = _Context.ABSENT, _Context.OPAQUE
_State = str | _Context
_Outcome = tuple[bool, tuple[TrustCondition, ...]]
_SPECIFICITY = {PrincipalKind.ACCOUNT_ROOT: 1, PrincipalKind.PUBLIC: 2}


def match_grants(policy: TrustPolicy, caller: CallerFacts) -> list[GrantMatch]:
    """Allow grants admitting `caller`, best first; empty when a Deny certainly applies.

    Best means principal certain, then fewest unverified conditions, then the most specific
    principal (a role ARN over its account root over `*`), then statement order.
    """
    possible_denials: list[TrustGrant] = []
    for deny in policy.denies:
        targeted = _targets(deny, caller)
        if targeted is False:
            continue
        satisfiable, unverified = evaluate_conditions(deny.conditions, caller)
        if satisfiable and targeted and not unverified:
            return []
        if satisfiable:
            possible_denials.append(deny)
    found: list[GrantMatch] = []
    for grant in policy.allows:
        targeted = _targets(grant, caller)
        if targeted is False:
            continue
        satisfiable, unverified = evaluate_conditions(grant.conditions, caller)
        if satisfiable:
            found.append(GrantMatch(grant, unverified, tuple(possible_denials), bool(targeted)))
    return sorted(found, key=_rank)


def best_match(policy: TrustPolicy, caller: CallerFacts) -> GrantMatch | None:
    """The most specific, best-verified grant admitting `caller`; None when none does."""
    found = match_grants(policy, caller)
    return found[0] if found else None


def _rank(match: GrantMatch) -> tuple[bool, int, int, int]:
    grant = match.grant
    specificity = _SPECIFICITY.get(grant.principal_kind, 0)
    unverified = len(match.unverified_conditions)
    return (not match.principal_verified, unverified, specificity, grant.statement_index)


def _targets(grant: TrustGrant, caller: CallerFacts) -> bool | None:
    """Action and principal (minus NotPrincipal exclusions) cover the caller; None if maybe."""
    if not grant.allows_action(caller.action):
        return False
    fit = principal_matches(grant.principal_ref, caller)
    if not grant.excluded_principals:  # all but NotPrincipal grants
        return fit if fit is None else bool(fit)
    excluded = {principal_matches(ref, caller) for ref in grant.excluded_principals}
    if fit is False or True in excluded:
        return False
    return None if fit is None or None in excluded else True


def principal_matches(ref: PrincipalRef, caller: CallerFacts) -> bool | None:
    """Whether the caller is, or belongs to, the principal `ref` names.

    None means "perhaps": the grant names a user or role and the event only the caller's account.
    """
    kind = ref.kind
    if kind is PrincipalKind.PUBLIC:
        return True
    if kind is PrincipalKind.ACCOUNT_ROOT:
        return ref.account is not None and caller.account == ref.account
    if kind is PrincipalKind.ARN:
        if caller.principal_arn is not None:
            return arn_principal_matches(ref.value, caller.principal_arn)
        return None if ref.account is not None and caller.account == ref.account else False
    if kind is PrincipalKind.SERVICE:
        return caller.service is not None and caller.service.lower() == ref.value.lower()
    if kind in (PrincipalKind.SAML_PROVIDER, PrincipalKind.OIDC_PROVIDER):
        return caller.federated_provider is not None and provider_matches(
            ref.value, caller.federated_provider
        )
    return False  # canonical users and unique ids of deleted principals admit no one


def arn_principal_matches(granted: str, caller_arn: str) -> bool:
    """Exact ARN, or a role ARN against a session of that role.

    A session ARN (`arn:aws:sts::A:assumed-role/Name/session`) drops the role's path, so a role is
    matched on account and name alone.
    """
    if granted == caller_arn:
        return True
    if not (arn_resource(granted) or "").startswith("role/"):
        return False  # users and sessions are matched exactly
    granted_role = role_key(granted)
    return granted_role is not None and granted_role == role_key(caller_arn)


def provider_matches(granted: str, provider: str) -> bool:
    """Same provider name and type; accounts must agree when both sides carry one.

    CloudTrail names GitHub/EKS providers by ARN but Cognito by bare issuer, so a bare name on
    either side matches an ARN of that name.
    """
    if provider_name(granted).lower() != provider_name(provider).lower():
        return False
    if _is_saml(granted) != _is_saml(provider) and arn_resource(provider) is not None:
        return False
    granted_account, caller_account = account_id(granted), account_id(provider)
    return granted_account is None or caller_account is None or granted_account == caller_account


def _is_saml(value: str) -> bool:
    return (arn_resource(value) or "").startswith("saml-provider/")


def evaluate_conditions(conditions: Sequence[TrustCondition], caller: CallerFacts) -> _Outcome:
    """(could all be satisfied, those assumed satisfied because the facts cannot decide them)."""
    unverified: list[TrustCondition] = []
    for condition in conditions:
        result = evaluate_condition(condition, caller)
        if result is False:
            return False, ()
        if result is None:
            unverified.append(condition)
    return True, tuple(unverified)


def evaluate_condition(condition: TrustCondition, caller: CallerFacts) -> bool | None:
    """True/False when the facts decide the condition, None when they cannot."""
    states = _context(condition.key, caller)
    if states is None:
        return None
    results = {_evaluate_state(condition, state) for state in states}
    return results.pop() if len(results) == 1 else None


def _context(key: str, caller: CallerFacts) -> tuple[_State, ...] | None:
    """Possible request-context values of `key` for this caller; None when unknowable.

    More than one possibility means the event is ambiguous: `mfaAuthenticated: false` is what
    CloudTrail shows both for an MFA-less session and for long-term keys, which carry no MFA key.
    """
    if key == "sts:externalid":
        return _presence(caller.external_id_present)
    if key == "aws:multifactorauthpresent":
        return None if caller.mfa is None else ("true",) if caller.mfa else ("false", _ABSENT)
    if key == "aws:multifactorauthage":
        return None if caller.mfa is None else (_OPAQUE,) if caller.mfa else (_ABSENT,)
    if key == "aws:principalarn":
        return _known(_principal_arn_value(caller.principal_arn))
    if key == "aws:principalaccount":
        return _known(caller.account)
    if key == "aws:sourceaccount":
        return _source_account(caller)
    if key == "saml:aud":
        return _federated_claim(caller, _is_saml, caller.audience)
    return _oidc_context(key, caller)


def _presence(present: bool | None) -> tuple[_State, ...] | None:
    return None if present is None else (_OPAQUE,) if present else (_ABSENT,)


def _known(value: str | None) -> tuple[_State, ...] | None:
    return None if value is None else (value,)


def _principal_arn_value(arn: str | None) -> str | None:
    """`aws:PrincipalArn` of a role session is the role's ARN, not the session's."""
    if arn is None or not (arn_resource(arn) or "").startswith("assumed-role/"):
        return arn
    role, parsed = role_key(arn), parse_arn(arn)
    if role is None or parsed is None:
        return arn
    # The session ARN lost the role's path; a path-less role ARN is the best reconstruction.
    return role_arn(role[0], role[1], partition=parsed.partition)


def _source_account(caller: CallerFacts) -> tuple[_State, ...] | None:
    """Only a service acting for a resource sends `aws:SourceAccount`; IAM principals never do."""
    if caller.source_account is not None:
        return (caller.source_account,)
    return (_ABSENT,) if caller.is_iam_principal else None


def _oidc_context(key: str, caller: CallerFacts) -> tuple[_State, ...] | None:
    """`<issuer>:sub` / `<issuer>:aud` for web-identity callers of that issuer."""
    parsed = oidc_claim_key(key)
    if parsed is None or parsed[1] not in ("sub", "aud"):
        return None
    issuer, claim = parsed
    value = caller.web_identity_subject if claim == "sub" else caller.audience

    def same_issuer(provider: str) -> bool:
        return provider_name(provider).lower() == issuer and not _is_saml(provider)

    return _federated_claim(caller, same_issuer, value)


def _federated_claim(
    caller: CallerFacts, from_issuer: Callable[[str], bool], value: str | None
) -> tuple[_State, ...] | None:
    """The claim's value for callers of the right identity provider, ABSENT for anyone else."""
    provider = caller.federated_provider
    if provider is None:
        return (_ABSENT,) if caller.is_iam_principal or caller.service else None
    if not from_issuer(provider):
        return (_ABSENT,)
    return _known(value)


def _evaluate_state(condition: TrustCondition, state: _State) -> bool | None:
    """IAM's verdict for one request-context state, None when it cannot be computed."""
    if condition.base == "null":
        return _evaluate_null(condition, state)
    if isinstance(state, _Context):
        return _absent_verdict(condition) if state is _Context.ABSENT else None
    matcher = _MATCHERS.get(condition.base.replace("not", "", 1))
    if matcher is None or any("${" in v for v in condition.values):
        return None  # numeric/date/IP operators and policy variables are beyond the facts
    hit = any(matcher(state, pattern) for pattern in condition.values)
    return not hit if condition.is_negated else hit


def _evaluate_null(condition: TrustCondition, state: _State) -> bool | None:
    """`Null: true` demands the key be absent, `Null: false` that it be present."""
    wanted = {v for v in condition.values if v in ("true", "false")}
    if not wanted:
        return None
    absent = state is _ABSENT
    return any((v == "true") == absent for v in wanted)


def _absent_verdict(condition: TrustCondition) -> bool:
    """IAM on a missing key: IfExists, ForAllValues and negated operators pass, others fail."""
    if condition.if_exists or condition.qualifier == "forallvalues":
        return True
    if condition.qualifier == "foranyvalue":
        return False
    return condition.is_negated


def _arn_like(value: str, pattern: str) -> bool:
    """ArnLike/ArnEquals: wildcards apply per colon-separated ARN segment."""
    values, patterns = value.split(":", 5), pattern.split(":", 5)
    if len(values) != len(patterns):
        return False
    return all(iam_glob_match(p, v) for p, v in zip(patterns, values, strict=True))


def _string_like(value: str, pattern: str) -> bool:
    return iam_glob_match(pattern, value)


_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda value, pattern: value == pattern,
    "stringequalsignorecase": lambda value, pattern: value.lower() == pattern.lower(),
    "stringlike": _string_like,
    "arnequals": _arn_like,
    "arnlike": _arn_like,
    "bool": lambda value, pattern: value.lower() == pattern.lower(),
}
