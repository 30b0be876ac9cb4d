"""Organization membership changes seen on the stream, applied at once and kept across restarts.

An account that leaves (or is removed from) the organization keeps every trust grant it had, but
from that moment it is an outside account: its calls must be judged ``external``. An account
that joins (an accepted invitation, a created account) must stop looking external. The
configured directory is only the starting point; what the stream said is stored in the state's
meta table so a restart of ``run`` does not forget a departure.
"""

from __future__ import annotations

import json

from monitor.intake.events import MembershipChange, OrganizationChange
from monitor.inventory.organization import OrgDirectory
from monitor.state.store import StateStore
from monitor.trust.enrich import Enricher

META_KEY = "organization_membership"
#: Accounts whose membership change is remembered; the oldest are forgotten beyond this (a
#: stream of forged records must not grow the state without bound).
MAX_REMEMBERED = 10_000


class Membership:
    """Applies membership changes to the enricher's organization directory."""

    def __init__(self, enricher: Enricher, state: StateStore) -> None:
        self.enricher = enricher
        self.state = state
        self._seen = _load(state.get_meta(META_KEY))
        org = enricher.org
        for account, joined in self._seen.items():
            org = org.joined(account) if joined else org.without(account)
        if self._seen:
            enricher.replace_org(org)

    def apply(self, change: OrganizationChange) -> bool:
        """Apply ``change``; True when the account was a member just before it."""
        org: OrgDirectory = self.enricher.org
        was_member = change.account in org
        joined = change.kind is MembershipChange.JOINED
        self.enricher.replace_org(
            org.joined(change.account) if joined else org.without(change.account)
        )
        self._seen.pop(change.account, None)  # re-inserted last: the newest is kept longest
        self._seen[change.account] = joined
        while len(self._seen) > MAX_REMEMBERED:
            del self._seen[next(iter(self._seen))]
        self.state.set_meta(META_KEY, json.dumps(self._seen))
        return was_member


def _load(text: str | None) -> dict[str, bool]:
    """The stored changes; an unreadable value is ignored (the configured directory stands)."""
    if not text:
        return {}
    try:
        stored = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(k): bool(v) for k, v in stored.items()}
