"""Change sets: the same change by one principal across many resources is one finding.

A Terraform module bump or a StackSet writes one change into every account's copy of a resource
(a provider's thumbprint, a role's policy) within minutes or hours. An operator reads that as
one change with a list of where it landed, not as seventy-five. A set is keyed by who made it
and what the change was; it opens with the first change and stays open while further changes
keep arriving less than ``window`` apart. Only the opening change is reported; the rest are
folded into the set's record (count, accounts, resources, first and last), kept in state for as
long as the set is open, so a late duplicate of a set still merges.

"Who made it" is read the way an operator reads it: a fleet-wide apply makes each account's
change from that account's own copy of one role (``TerraformExecution`` in every member), so a
session of a role in an organization account counts as the role's *name*; anyone else (a user,
a role outside the organization) counts as itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detectors import jsontext
from detectors.identity import stable_principal
from monitor.intake.clock import plus
from monitor.intake.events import Caller
from monitor.inventory.organization import OrgDirectory
from monitor.state.store import StateStore

#: At most this many accounts and resources are kept and listed; ``count`` keeps counting.
LISTED = 20


def operator_principal(caller: Caller, org: OrgDirectory) -> str:
    """``role-name:<path/name>`` for a session of a role in the organization, else the caller's
    long-lived identity (:func:`detectors.identity.stable_principal`)."""
    issuer = caller.session_issuer_arn
    if caller.is_role_session and issuer and caller.account_id in org and ":role/" in issuer:
        return f"role-name:{issuer.split(':role/', 1)[1]}"
    return stable_principal(caller)


@dataclass
class ChangeSet:
    """One open set: when it started, its last change, how many, where."""

    first: str
    last: str
    count: int = 0
    accounts: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)

    def add(self, at: datetime, account: str | None, resource: str | None) -> None:
        self.count += 1
        self.first = min(self.first, at.isoformat())
        self.last = max(self.last, at.isoformat())
        for items, item in ((self.accounts, account), (self.resources, resource)):
            if item and item not in items and len(items) < LISTED:
                items.append(item)

    def evidence(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "accounts": self.accounts,
            "resources": self.resources,
            "first": self.first,
            "last": self.last,
        }


class ChangeSets:
    """Open change sets of one detector in the state store's expiring facts."""

    def __init__(self, namespace: str, window: timedelta) -> None:
        self.namespace = f"{namespace}:change_set"
        self.window = window

    def add(
        self,
        state: StateStore,
        key: str,
        at: datetime,
        account: str | None,
        resource: str | None,
    ) -> tuple[ChangeSet, bool]:
        """Add one change to the set of ``key``; returns the set and whether it just opened."""
        stored = state.recall(self.namespace, key, at)
        opened = stored is None
        changes = ChangeSet(first=at.isoformat(), last=at.isoformat())
        if stored is not None:
            changes = ChangeSet(**jsontext.loads(stored))
        changes.add(at, account, resource)
        # The set stays open a whole window after its newest change (never moved back).
        last = datetime.fromisoformat(changes.last)
        value = jsontext.dumps(changes.__dict__)
        state.remember(self.namespace, key, value, plus(last, self.window))
        return changes, opened
