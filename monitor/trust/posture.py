"""Posture weaknesses of a trust policy: grants that let in more callers than they likely should.

Why these and not more: each code names a way a role is assumed by someone its owner did not
mean (anyone, an unknown account, a confused deputy, any GitHub repository). Style checks that do
not widen who gets in are left out; for example a missing `SAML:aud` is not reported, because
the SAML provider's signed assertion must still name the role.

Each Allow grant that can hand out a session is judged on its own; Deny statements are not
subtracted, so a Deny that neutralises a weak Allow still leaves the weakness reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from monitor.trust.model import (
    GrantScope,
    PrincipalKind,
    TrustCondition,
    TrustGrant,
    TrustPolicy,
    classify,
    oidc_claim_key,
)
from monitor.trust.values import ANY, Inside, pins_callers, values_outside

_GITHUB_ISSUER = "token.actions.githubusercontent.com"
_COGNITO_ISSUER = "cognito-identity.amazonaws.com"
_GITHUB_PINNED_REPO = re.compile(r"^repo:[^*?/:]+/[^*?/:]+:")
_LIKE_OPERATORS = frozenset({"stringlike", "arnlike", "arnequals"})


class WeaknessCode(StrEnum):
    """Stable codes the posture report and its readers key on."""

    PUBLIC_PRINCIPAL = "public_principal"
    UNTRUSTED_EXTERNAL_ACCOUNT = "untrusted_external_account"
    EXTERNAL_WITHOUT_EXTERNAL_ID = "external_without_external_id"
    OIDC_WITHOUT_SUB = "oidc_without_sub"
    OIDC_WILDCARD_SUB = "oidc_wildcard_sub"
    OIDC_WITHOUT_AUD = "oidc_without_aud"
    OIDC_CONDITION_ISSUER_MISMATCH = "oidc_condition_issuer_mismatch"
    UNRESOLVED_PRINCIPAL = "unresolved_principal"
    ROLES_ANYWHERE_UNPINNED = "roles_anywhere_unpinned"


@dataclass(frozen=True, slots=True)
class Weakness:
    """One weakness of one grant; `severity` uses the finding scale (critical … info)."""

    code: WeaknessCode
    detail: str
    grant: TrustGrant
    severity: str


_Context = Inside
_Check = Callable[[TrustGrant, _Context], Iterator[Weakness]]


def weaknesses(
    policy: TrustPolicy,
    role_account: str | None,
    org_accounts: frozenset[str] = frozenset(),
    trusted_accounts: frozenset[str] = frozenset(),
    org_id: str | None = None,
) -> list[Weakness]:
    """All weaknesses of the policy's Allow grants, in statement order.

    ``org_id`` (``organization.id``) lets organization-id and OU-path conditions be judged by
    value; without it they are taken as pinning callers to the organization.
    """
    context = Inside(role_account, org_accounts, trusted_accounts, org_id)
    found: list[Weakness] = []
    for grant in policy.allows:
        if grant.allows_assumption:
            for check in _CHECKS:
                found.extend(check(grant, context))
    return found


def _public(grant: TrustGrant, context: _Context) -> Iterator[Weakness]:
    """`*` (or NotPrincipal) not pinned to the organization by the values of its conditions.

    Conditions are ANDed: one that admits only inside callers closes the grant. Otherwise the
    grant is open to the outside values its pinning conditions name (or to anyone, when every
    one of them has a wildcard where the account goes, or there is none).
    """
    if grant.principal_kind is not PrincipalKind.PUBLIC:
        return
    pins = [c for c in grant.conditions if pins_callers(c)]
    outside = [values_outside(c, context) for c in pins]
    if any(not values for values in outside):
        return
    how = "NotPrincipal (everyone but the listed)" if grant.excluded_principals else "'*'"
    named = [c for c, values in zip(pins, outside, strict=True) if ANY not in values]
    if not named:
        yield Weakness(
            WeaknessCode.PUBLIC_PRINCIPAL,
            f"anyone may assume the role: principal {how} without an org/account condition"
            + (" limiting it to known accounts" if pins else ""),
            grant,
            "critical",
        )
        return
    detail = "; ".join(
        f"{c.operator} {c.key} = {', '.join(sorted(values_outside(c, context)))}" for c in named
    )
    yield Weakness(
        WeaknessCode.UNTRUSTED_EXTERNAL_ACCOUNT,
        f"principal {how} is limited by condition to callers outside the organization and "
        f"trusted_external_accounts ({detail})",
        grant,
        "high",
    )


def _external(grant: TrustGrant, context: _Context) -> Iterator[Weakness]:
    """Accounts outside the organisation: unknown ones, and any lacking an external id."""
    scope = classify(grant, context.role_account, context.org_accounts, context.trusted_accounts)
    account = grant.principal_account
    if scope is GrantScope.EXTERNAL:
        yield Weakness(
            WeaknessCode.UNTRUSTED_EXTERNAL_ACCOUNT,
            f"account {account} is neither in the organization nor a trusted vendor",
            grant,
            "high",
        )
    if scope in (GrantScope.EXTERNAL, GrantScope.VENDOR) and not grant.requires_external_id:
        yield Weakness(
            WeaknessCode.EXTERNAL_WITHOUT_EXTERNAL_ID,
            f"{scope.value} account {account} may assume the role without sts:ExternalId "
            "(confused-deputy risk)",
            grant,
            "medium",
        )
    if scope is GrantScope.UNRESOLVED:
        yield Weakness(
            WeaknessCode.UNRESOLVED_PRINCIPAL,
            f"principal {grant.principal!r} names no readable account (deleted or malformed)",
            grant,
            "low",
        )


def _oidc(grant: TrustGrant, context: _Context) -> Iterator[Weakness]:
    """Web-identity grants must pin the token's subject (audience for Cognito) to its issuer."""
    issuer = grant.oidc_issuer
    if issuer is None:
        return
    foreign = sorted(
        {parsed[0] for c in grant.conditions if (parsed := _claim(c)) and parsed[0] != issuer}
    )
    if foreign:
        yield Weakness(
            WeaknessCode.OIDC_CONDITION_ISSUER_MISMATCH,
            f"conditions name issuer(s) {', '.join(foreign)} but the provider is {issuer}; "
            "they do not constrain its tokens",
            grant,
            "medium",
        )
    yield from _oidc_subject(grant, issuer)
    yield from _oidc_audience(grant, issuer)


def _oidc_subject(grant: TrustGrant, issuer: str) -> Iterator[Weakness]:
    subjects = _pinning(grant, issuer, "sub")
    if not subjects and issuer != _COGNITO_ISSUER:
        yield Weakness(
            WeaknessCode.OIDC_WITHOUT_SUB,
            f"any subject with a token from {issuer} may assume the role "
            f"(no {issuer}:sub condition)",
            grant,
            "high",
        )
    for condition in subjects:
        for pattern in condition.values:
            if _wildcard_subject(issuer, condition, pattern):
                yield Weakness(
                    WeaknessCode.OIDC_WILDCARD_SUB,
                    f"subject pattern {pattern!r} does not pin {_what_sub_pins(issuer)}",
                    grant,
                    "high",
                )


def _oidc_audience(grant: TrustGrant, issuer: str) -> Iterator[Weakness]:
    """Cognito's `aud` is the identity pool: without it any pool in any account gets in."""
    if _pinning(grant, issuer, "aud"):
        return
    cognito = issuer == _COGNITO_ISSUER
    yield Weakness(
        WeaknessCode.OIDC_WITHOUT_AUD,
        f"no {issuer}:aud condition"
        + (": any Cognito identity pool may assume the role" if cognito else ""),
        grant,
        "high" if cognito else "low",
    )


def _claim(condition: TrustCondition) -> tuple[str, str] | None:
    return oidc_claim_key(condition.key)


def _pinning(grant: TrustGrant, issuer: str, claim: str) -> list[TrustCondition]:
    """Positive conditions on the issuer's claim (IfExists too: OIDC tokens always carry it)."""
    return [c for c in grant.conditions if c.is_positive and _claim(c) == (issuer, claim)]


def _wildcard_subject(issuer: str, condition: TrustCondition, pattern: str) -> bool:
    """Whether a Like pattern leaves the part that names the workload open.

    For GitHub that part is `repo:<org>/<repo>:`; for other issuers only an all-wildcard
    pattern is judged, since their subject formats differ. Equals operators compare literally.
    """
    if condition.base not in _LIKE_OPERATORS or not any(ch in pattern for ch in "*?"):
        return False
    if issuer.startswith(_GITHUB_ISSUER):
        return _GITHUB_PINNED_REPO.match(pattern) is None
    return _only_wildcards(pattern)


def _what_sub_pins(issuer: str) -> str:
    return "a single GitHub repository" if issuer.startswith(_GITHUB_ISSUER) else "any subject"


def _only_wildcards(value: str) -> bool:
    """True for patterns such as `*` or `?*` that match any non-empty value."""
    return "*" in value and set(value) <= {"*", "?"}


_ROLES_ANYWHERE = "rolesanywhere.amazonaws.com"


def _roles_anywhere(grant: TrustGrant, context: _Context) -> Iterator[Weakness]:
    """Roles Anywhere admits any certificate of any trust anchor in the account unless the
    grant names the anchor (``aws:SourceArn``) or a certificate field (``x509…`` tags)."""
    if grant.principal_kind is not PrincipalKind.SERVICE or grant.principal != _ROLES_ANYWHERE:
        return
    if any(_pins_certificate(c.key) for c in grant.conditions):
        return
    yield Weakness(
        WeaknessCode.ROLES_ANYWHERE_UNPINNED,
        "any certificate of any Roles Anywhere trust anchor in the account may assume the "
        "role (no aws:SourceArn or aws:PrincipalTag/x509… condition)",
        grant,
        "high",
    )


def _pins_certificate(key: str) -> bool:
    return key == "aws:sourcearn" or key.startswith("aws:principaltag/x509")


_CHECKS: tuple[_Check, ...] = (_public, _external, _oidc, _roles_anywhere)
