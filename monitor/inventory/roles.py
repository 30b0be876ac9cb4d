"""The role value types: what the monitor knows about a role, and a lookup's answer.

Imports none of its siblings, so every source, the overlay and the catalog can share them
without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
