"""Whom a principal-naming condition lets in, judged by its values.

Why values: `Principal: "*"` with `StringEquals aws:PrincipalAccount 666666666666` is not
"restricted": it is a backdoor for account 666666666666, written so that a check for "any
limiting condition" passes it. A condition pins a grant to the organization only when every
value it accepts lies inside: a member account (or the role's own), a trusted vendor, the
configured organization id, or a path below it.

What cannot be judged is said so: a Like pattern with a wildcard where the account goes admits
*any* account; an organization id or path while no `organization.id` is configured is given the
benefit of the doubt (inside), because the monitor cannot tell ours from another.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.aws.arns import account_field, account_id
from monitor.trust.model import TrustCondition

#: What `values_outside` returns for a value that admits any account at all.
ANY = "*"

_ACCOUNT_KEYS = frozenset({"aws:principalaccount", "aws:sourceaccount"})
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})
_ORG_KEYS = frozenset({"aws:principalorgid", "aws:sourceorgid"})
_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths"})
#: Keys that name the caller's account (directly, by ARN, by organization or by OU path).
PINNING_KEYS = _ACCOUNT_KEYS | _ARN_KEYS | _ORG_KEYS | _PATH_KEYS
_WILDCARD_OPERATORS = frozenset({"stringlike", "arnlike", "arnequals"})


@dataclass(frozen=True, slots=True)
class Inside:
    """What counts as inside: members, trusted vendors, the organization's id."""

    role_account: str | None
    org_accounts: frozenset[str]
    trusted_accounts: frozenset[str]
    org_id: str | None = None

    def account(self, account: str) -> bool:
        return (
            account == self.role_account
            or account in self.org_accounts
            or account in self.trusted_accounts
        )


def pins_callers(condition: TrustCondition) -> bool:
    """True for a condition every caller must satisfy that names the caller's account.

    `IfExists`, `ForAllValues` (both pass when the key is missing), negated operators (they
    list who is refused) and `Null` (presence only) pin no one.
    """
    return condition.key in PINNING_KEYS and condition.requires_key


def values_outside(condition: TrustCondition, inside: Inside) -> frozenset[str]:
    """The values of a pinning condition that admit callers from outside; ANY for wildcards."""
    wildcards = condition.base in _WILDCARD_OPERATORS
    outside = {_outside(condition.key, value, wildcards, inside) for value in condition.values}
    return frozenset(value for value in outside if value is not None)


def _outside(key: str, value: str, wildcards: bool, inside: Inside) -> str | None:
    """`value` (or ANY) when it admits an outside caller, None when it stays inside."""
    if key in _ACCOUNT_KEYS:
        return _account_value(value, wildcards, inside)
    if key in _ARN_KEYS:
        return _arn_value(value, wildcards, inside)
    # An organization id, or an OU path `o-abc/r-xyz/ou-.../` whose first part is one.
    org = value if key in _ORG_KEYS else value.split("/", 1)[0]
    if wildcards and _has_wildcard(org):
        return ANY  # `o-*` matches other organizations' ids too
    if inside.org_id is None:
        return None  # cannot tell our organization from another: benefit of the doubt
    return None if org == inside.org_id else value


def _account_value(value: str, wildcards: bool, inside: Inside) -> str | None:
    if wildcards and _has_wildcard(value):
        return ANY
    return None if inside.account(value.strip()) else value


def _arn_value(value: str, wildcards: bool, inside: Inside) -> str | None:
    account_part = account_field(value)
    if account_part is None:
        return ANY if wildcards and _has_wildcard(value) else None  # `*`, or no ARN: nobody
    if wildcards and _has_wildcard(account_part):
        return ANY
    account = account_id(value)
    if account is None:
        return None  # names no readable account: admits no one
    return None if inside.account(account) else value


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value
