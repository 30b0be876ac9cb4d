"""The role catalog: trust metadata of the roles being assumed, from one or more sources.

Sources are tried in order (snapshot files first, live IAM fills the gaps); the first that
has the role answers. A source that covers an account and lacks the role says ``not_found``;
one that failed says ``unavailable``, and events still flow with that stated. When no source has
the role, ``unavailable`` wins over ``not_found``: a source that should know could not answer,
so the role may well exist (created after the snapshot export).

Role changes seen on the input (CreateRole, UpdateAssumeRolePolicy, ...) go to
:meth:`RoleCatalog.apply_change`: they are kept in an overlay that takes precedence over every
source (see ``monitor.inventory.overlay``), and cached live answers for the role are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from monitor.aws.arns import split_role_arn
from monitor.inventory.changes import RoleChange
from monitor.inventory.overlay import RoleOverlay
from monitor.inventory.roles import LookupStatus, RoleInfo, RoleLookup

__all__ = [
    "CachingSource",
    "LookupStatus",
    "RoleCatalog",
    "RoleInfo",
    "RoleLookup",
    "RoleSource",
]


class RoleSource(Protocol):
    """One place role metadata comes from."""

    name: str

    def lookup(self, account: str, role_name: str) -> RoleLookup: ...

    def roles(self) -> Iterable[RoleInfo]: ...


@runtime_checkable
class CachingSource(Protocol):
    """A source with a cache the catalog can read without calling out, and invalidate."""

    def cached(self, account: str, role_name: str) -> RoleLookup | None: ...

    def invalidate(self, account: str, role_name: str) -> None: ...


_UNKNOWN = RoleLookup(LookupStatus.UNKNOWN)
#: Which answer stands when no source has the role: a failure beats a mere absence.
_WEIGHT = {LookupStatus.UNKNOWN: 0, LookupStatus.NOT_FOUND: 1, LookupStatus.UNAVAILABLE: 2}


class RoleCatalog:
    """Sources in priority order behind one lookup, with the stream's changes on top."""

    def __init__(self, sources: Iterable[RoleSource], overlay: RoleOverlay | None = None) -> None:
        self.sources = list(sources)
        self.overlay = overlay if overlay is not None else RoleOverlay()

    def lookup(self, role_arn: str | None) -> RoleLookup:
        target = split_role_arn(role_arn) if role_arn else None
        if target is None:
            return _UNKNOWN
        return self.overlay.resolve(*target, lambda: self._ask(*target))

    def peek(self, account: str, role_name: str) -> RoleLookup:
        """What is known without calling out: caching sources answer from their cache only."""
        return self.overlay.resolve(
            account, role_name, lambda: self._ask(account, role_name, peek=True)
        )

    def apply_change(self, change: RoleChange) -> RoleLookup:
        """Apply a role change seen on the input; return the role as known just before it."""
        target = change.target
        if target is None:
            return _UNKNOWN
        before = self.peek(*target)
        self.overlay.apply(change)
        for source in self.sources:
            if isinstance(source, CachingSource):
                source.invalidate(*target)
        return before

    def roles(self) -> list[RoleInfo]:
        """Every known role once (earlier sources win), with the stream's changes applied."""
        seen: dict[tuple[str, str], RoleInfo] = {}
        for source in self.sources:
            for role in source.roles():
                seen.setdefault((role.account, role.name.lower()), role)
        return self.overlay.over(seen.values())

    def _ask(self, account: str, role_name: str, peek: bool = False) -> RoleLookup:
        answer = _UNKNOWN
        for source in self.sources:
            if peek and isinstance(source, CachingSource):
                result = source.cached(account, role_name) or _UNKNOWN
            else:
                result = source.lookup(account, role_name)
            if result.status is LookupStatus.FOUND:
                return result
            if _WEIGHT[result.status] > _WEIGHT[answer.status]:
                answer = result
        return answer
