"""The role catalog: trust metadata of the roles being assumed, from one or more sources.

Sources are tried in order (snapshot files first, live IAM fills the gaps); the first that
knows the role's account answers. A source that covers an account and lacks the role says
``not_found``; one that failed says ``unavailable``, and events still flow with that stated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class LookupStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    #: No source covers the role's account.
    UNKNOWN = "unknown"
    #: A source that should know failed (IAM unreachable, throttled beyond retries).
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class RoleInfo:
    """What the monitor knows about one IAM role."""

    arn: str
    account: str
    name: str
    source: str
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    trust_policy: Mapping[str, Any] | None = None
    create_date: str | None = None


@dataclass(frozen=True)
class RoleLookup:
    status: LookupStatus
    role: RoleInfo | None = None
    source: str | None = None

    @property
    def label(self) -> str:
        """What a finding says about its metadata: the source when found, else the status."""
        if self.status is LookupStatus.FOUND and self.source:
            return self.source
        return self.status.value


class RoleSource(Protocol):
    """One place role metadata comes from."""

    name: str

    def lookup(self, account: str, role_name: str) -> RoleLookup: ...

    def roles(self) -> Iterable[RoleInfo]: ...


def split_role_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of ``arn:aws:iam::<acct>:role/<path/>Name``; None otherwise."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[4], parts[5].rsplit("/", 1)[-1]


class RoleCatalog:
    """Sources in priority order behind one lookup."""

    def __init__(self, sources: Iterable[RoleSource]) -> None:
        self.sources = list(sources)

    def lookup(self, role_arn: str | None) -> RoleLookup:
        target = split_role_arn(role_arn) if role_arn else None
        if target is None:
            return RoleLookup(LookupStatus.UNKNOWN)
        answer = RoleLookup(LookupStatus.UNKNOWN)
        for source in self.sources:
            result = source.lookup(*target)
            if result.status is LookupStatus.FOUND:
                return result
            if result.status is not LookupStatus.UNKNOWN and answer.status is LookupStatus.UNKNOWN:
                answer = result
        return answer

    def roles(self) -> list[RoleInfo]:
        """Every known role once (earlier sources win)."""
        seen: dict[tuple[str, str], RoleInfo] = {}
        for source in self.sources:
            for role in source.roles():
                seen.setdefault((role.account, role.name), role)
        return list(seen.values())
