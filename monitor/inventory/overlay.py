"""Role changes seen on the input, layered over whatever the catalog's sources say.

Why an overlay at catalog level rather than each source editing itself: the snapshot is an
export from the past and live IAM answers with the present, but the pipeline needs the state *as
of the event it is looking at*. Keeping the changes as patches applied on top of any source gives
that in one place, deterministically: a replay with snapshot metadata and one with live metadata
see the same change at the same point in the stream. Patches are deltas (new trust policy, tags
set, tags removed, deleted), not copies, so a live refresh underneath still brings in what the
stream did not say (a role's path, tags set before the observed window).

Caveat: a patch stands until a later change on the stream replaces it; a change made where the
monitor does not see its trail is picked up only for roles without a patch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from monitor.aws.arns import role_arn
from monitor.inventory.changes import ChangeKind, RoleChange
from monitor.inventory.roles import LookupStatus, RoleInfo, RoleLookup

SOURCE = "stream"
MAX_PATCHES = 10_000
Key = tuple[str, str]


@dataclass(frozen=True)
class RolePatch:
    """What the stream said about one role since the monitor started."""

    created: RoleInfo | None = None
    deleted: bool = False
    trust_policy: dict[str, Any] | None = None
    tags_set: dict[str, str] = field(default_factory=dict)
    tags_removed: frozenset[str] = frozenset()

    def apply(self, role: RoleInfo) -> RoleInfo:
        tags = {k: v for k, v in role.tags.items() if k not in self.tags_removed}
        tags.update(self.tags_set)
        policy = self.trust_policy if self.trust_policy is not None else role.trust_policy
        return replace(role, tags=tags, trust_policy=policy)


class RoleOverlay:
    """Patches by (account, lower-cased role name); the oldest are forgotten past MAX_PATCHES.

    A patched role is built once per (patch, role underneath) and answered as the same object
    until either changes: that object is the role's catalog version, which enrichment keys its
    per-role facts by (``monitor.trust.facts``).
    """

    def __init__(self, max_patches: int = MAX_PATCHES) -> None:
        self._patches: OrderedDict[Key, RolePatch] = OrderedDict()
        self._max = max_patches
        #: (patch, role underneath, patched role) of each patch's last answer.
        self._patched: dict[Key, tuple[RolePatch, RoleInfo, RoleInfo]] = {}

    def __len__(self) -> int:
        return len(self._patches)

    def apply(self, change: RoleChange) -> None:
        """Record one change (ignored when the record does not name its role)."""
        target = change.target
        if target is None:
            return
        key = (target[0], target[1].lower())
        patch = _next_patch(self._patches.get(key, RolePatch()), change)
        self._patches[key] = patch
        self._patches.move_to_end(key)
        self._forget_oldest()

    def resolve(self, account: str, role_name: str, base: Callable[[], RoleLookup]) -> RoleLookup:
        """The sources' answer (``base``) with this role's patch on top."""
        key = (account, role_name.lower())
        patch = self._patches.get(key)
        if patch is None:
            return base()
        if patch.deleted:
            return RoleLookup(LookupStatus.NOT_FOUND, source=SOURCE)
        if patch.created is not None:
            return RoleLookup(LookupStatus.FOUND, self._apply(key, patch, patch.created), SOURCE)
        found = base()
        if found.role is None:
            return found
        return RoleLookup(found.status, self._apply(key, patch, found.role), found.source)

    def _apply(self, key: Key, patch: RolePatch, role: RoleInfo) -> RoleInfo:
        """``patch`` over ``role``, the same object as last time when neither changed."""
        last = self._patched.get(key)
        if last is not None and last[0] is patch and last[1] is role:
            return last[2]
        patched = patch.apply(role)
        self._patched[key] = (patch, role, patched)
        return patched

    def _forget_oldest(self) -> None:
        while len(self._patches) > self._max:
            self._patched.pop(self._patches.popitem(last=False)[0], None)

    def dump(self) -> list[dict[str, Any]]:
        """Every patch as JSON-ready data, oldest first (what :meth:`load` reads back)."""
        return [_patch_data(key, patch) for key, patch in self._patches.items()]

    def load(self, patches: Iterable[Any]) -> None:
        """Take back what :meth:`dump` gave; an unreadable entry is skipped, not fatal."""
        for item in patches:
            loaded = _patch_of(item)
            if loaded is not None:
                key, patch = loaded
                self._patches[key] = patch
                self._patches.move_to_end(key)
        self._forget_oldest()

    def over(self, roles: Iterable[RoleInfo]) -> list[RoleInfo]:
        """Every role of ``roles`` patched, deleted ones dropped, created ones added."""
        result: dict[Key, RoleInfo] = {}
        for role in roles:
            key = (role.account, role.name.lower())
            patch = self._patches.get(key)
            if patch is None:
                result[key] = role
            elif not patch.deleted:
                result[key] = patch.apply(patch.created or role)
        for key, patch in self._patches.items():
            if patch.created is not None and not patch.deleted and key not in result:
                result[key] = patch.apply(patch.created)
        return list(result.values())


def _next_patch(patch: RolePatch, change: RoleChange) -> RolePatch:
    if change.kind is ChangeKind.DELETE:
        return RolePatch(deleted=True)
    if change.kind is ChangeKind.CREATE:
        return RolePatch(created=_created_role(change))
    if change.kind is ChangeKind.UPDATE_TRUST:
        return replace(patch, trust_policy=change.trust_policy)
    if change.kind is ChangeKind.TAG:
        removed = patch.tags_removed - set(change.tags)
        return replace(patch, tags_set={**patch.tags_set, **change.tags}, tags_removed=removed)
    keys = set(change.tag_keys)
    kept = {k: v for k, v in patch.tags_set.items() if k not in keys}
    return replace(patch, tags_set=kept, tags_removed=patch.tags_removed | keys)


def _created_role(change: RoleChange) -> RoleInfo:
    """The role as CreateRole described it; tags travel in the patch, applied on lookup."""
    account, name = change.target or ("", "")
    return RoleInfo(
        arn=change.role_arn or role_arn(account, name),
        account=account,
        name=name,
        source=SOURCE,
        path=change.path or "/",
        tags=dict(change.tags),
        trust_policy=change.trust_policy,
        create_date=change.create_date or change.event_time.isoformat(),
    )


def _patch_data(key: Key, patch: RolePatch) -> dict[str, Any]:
    created = patch.created
    return {
        "key": list(key),
        "created": None if created is None else _role_data(created),
        "deleted": patch.deleted,
        "trust_policy": patch.trust_policy,
        "tags_set": patch.tags_set,
        "tags_removed": sorted(patch.tags_removed),
    }


def _role_data(role: RoleInfo) -> dict[str, Any]:
    data = {f.name: getattr(role, f.name) for f in fields(role)}
    data["tags"] = dict(role.tags)
    data["trust_policy"] = None if role.trust_policy is None else dict(role.trust_policy)
    return data


def _patch_of(item: Any) -> tuple[Key, RolePatch] | None:
    try:
        account, name = item["key"]
        created = item["created"]
        role = None if created is None else RoleInfo(**created)
        patch = RolePatch(
            created=role,
            deleted=bool(item["deleted"]),
            trust_policy=item["trust_policy"],
            tags_set=dict(item["tags_set"]),
            tags_removed=frozenset(item["tags_removed"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return (str(account), str(name)), patch
