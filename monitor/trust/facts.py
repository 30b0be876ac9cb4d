"""What enrichment knows about a role and a caller, computed once and remembered.

Why: the same callers assume the same roles all day, and every fact enrichment adds depends only
on the role as the catalog knows it (its trust policy and tags) and on a handful of caller facts.
So a role's facts are kept per catalog *version* of the role — the ``RoleInfo`` object the catalog
answers with, which is replaced whenever the stream, a live refresh or a reload changes the role —
and the admitting grant per (parsed policy, caller facts). An assumption of a known role by a
known caller then costs dictionary lookups, not a policy hash, a parse and a grant match.

Every cache is bounded: caller facts are attacker-chosen (session names, web-identity subjects,
principal ARNs of denied calls), so the oldest entries are forgotten past a fixed size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from monitor.inventory.roles import RoleInfo
from monitor.trust.match import CallerFacts, GrantMatch
from monitor.trust.model import GrantScope, PrincipalKind, TrustPolicy, oidc_claim_key
from monitor.trust.posture import Weakness

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_SESSION = ":assumed-role/"
_ANY_ARN = ("arn",)


class Bounded(Generic[K, V]):
    """A mapping that forgets its least recently used entry past ``size`` entries."""

    __slots__ = ("_data", "size")

    def __init__(self, size: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self.size = size

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        if len(self._data) > self.size:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        self._data.clear()


@dataclass(eq=False, slots=True)
class PolicyFacts:
    """One parsed trust policy of one account, and what of a caller its verdict can depend on.

    Compared by identity: admission answers are keyed by this object, so that a re-parsed
    policy (another organization, another document) never meets answers given for an old one.
    """

    policy: TrustPolicy
    weaknesses: list[Weakness]
    #: The account of the roles carrying it (what grant scopes are judged from).
    account: str
    #: Some principal or condition reads the caller's ARN, not only its account.
    reads_arn: bool
    #: Some principal names a role session's ARN: then the session name can decide the match.
    names_sessions: bool
    #: Some condition reads a web-identity ``sub``: then the subject can decide the match.
    reads_subject: bool

    @classmethod
    def of(cls, policy: TrustPolicy, weaknesses: list[Weakness], account: str) -> PolicyFacts:
        refs = [g.principal_ref for g in policy.grants]
        refs += [ref for g in policy.grants for ref in g.excluded_principals]
        keys = {c.key for g in policy.grants for c in g.conditions}
        arns = "aws:principalarn" in keys or any(r.kind is PrincipalKind.ARN for r in refs)
        sessions = any("assumed-role/" in ref.value for ref in refs)
        subject = any(_claim(key) == "sub" for key in keys)
        return cls(policy, weaknesses, account, arns, sessions, subject)

    def caller_key(self, fact: CallerFacts) -> tuple[object, ...]:
        """The facts the match can depend on (``monitor.trust.match``): of the caller's ARN its
        account alone unless the policy reads ARNs, its role alone unless a principal names a
        session; the web-identity subject only when a condition reads it."""
        return (
            fact.action,
            self._arn_key(fact),
            fact.principal_account,
            fact.service,
            fact.federated_provider,
            fact.web_identity_subject if self.reads_subject else None,
            fact.audience,
            fact.external_id_present,
            fact.mfa,
            fact.source_account,
        )

    def _arn_key(self, fact: CallerFacts) -> object:
        arn = fact.principal_arn
        if arn is None:
            return None
        if not self.reads_arn:  # only `account` and `is_iam_principal` read the ARN then
            return _ANY_ARN if fact.principal_account else ("account", fact.account)
        if not self.names_sessions and _SESSION in arn:
            role = _session_role(arn)
            return arn if role is None else ("session", *role)
        return arn


@dataclass(frozen=True, slots=True)
class Admission:
    """The grant that admitted a caller, its place on the account ladder and its weaknesses."""

    match: GrantMatch | None = None
    scope: GrantScope | None = None
    weaknesses: tuple[str, ...] = ()


NO_ADMISSION = Admission()


@dataclass(eq=False, slots=True)
class RoleFacts:
    """A role's facts for one catalog version of it (``role``, compared by identity)."""

    role: RoleInfo
    policy: PolicyFacts | None
    #: Break-glass status of the role under the event ARN it was first seen by.
    arn: str | None
    break_glass: bool


def _session_role(arn: str) -> tuple[str, str] | None:
    """(ARN fields before the resource, role name) of a role session's ARN, else None.

    Read as ``monitor.aws.arns.parse_arn`` reads an ARN (the first five colons split it), so
    that two sessions of one role give one key exactly when the matcher sees the same role.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5].startswith("assumed-role/"):
        return None
    name, sep, _session = parts[5][len("assumed-role/") :].partition("/")
    if not (name and sep):
        return None
    return ":".join(parts[:5]), name


def _claim(key: str) -> str | None:
    parsed = oidc_claim_key(key)
    return parsed[1] if parsed else None
