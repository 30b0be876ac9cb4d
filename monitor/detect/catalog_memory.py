"""The stream's role changes kept across restarts, as membership changes are.

The catalog's overlay (``monitor.inventory.overlay``) holds what CreateRole, UpdateAssumeRolePolicy,
DeleteRole and tag records said; without this it lived only as long as the process, so
``learn`` over days that created a role, then ``replay --state`` of the days after, judged that
role as unknown while one ``replay`` over all the days knew it (issue 19). The patches are
written to the state's meta table at each commit, only when a change arrived since the last one:
one write per checkpoint, however many changes a batch holds.
"""

from __future__ import annotations

import json

from monitor.inventory.overlay import RoleOverlay
from monitor.state.store import StateStore

META_KEY = "role_catalog_changes"


class CatalogMemory:
    """Loads the overlay from the state once; writes it back at commits after a change."""

    def __init__(self, overlay: RoleOverlay, state: StateStore) -> None:
        self.overlay = overlay
        self.state = state
        self.changed = False
        stored = _load(state.get_meta(META_KEY))
        if stored:
            overlay.load(stored)
        state.before_commit(self.write)

    def noted(self) -> None:
        """A role change was applied to the overlay: write it at the next commit."""
        self.changed = True

    def write(self) -> None:
        if self.changed:
            self.state.set_meta(META_KEY, json.dumps(self.overlay.dump(), separators=(",", ":")))
            self.changed = False


def _load(text: str | None) -> list[object]:
    """The stored patches; an unreadable value is ignored (the sources' answers stand)."""
    if not text:
        return []
    try:
        stored = json.loads(text)
    except ValueError:
        return []
    return stored if isinstance(stored, list) else []
