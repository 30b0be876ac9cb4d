"""The role-change value types, where the inventory (and its readers) have always found them.

The model lives in :mod:`monitor.intake.events` with the other typed events; it is read from
CloudTrail by :mod:`monitor.intake.normalize_changes`, beside the rest of normalising. This module
imports none of its siblings, so anything in the inventory may import it.
"""

from __future__ import annotations

from monitor.intake.events import ChangeKind, RoleChange

__all__ = ["ChangeKind", "RoleChange"]
