"""The finding: what a detector reports and every sink delivers (fields are a contract)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field, field_serializer


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical … 4 for info, for sorting and thresholds."""
        return list(Severity).index(self)


class Finding(BaseModel):
    """One detection on one event (or one burst of events)."""

    model_config = ConfigDict(frozen=True)

    detector: str
    severity: Severity
    title: str
    event_id: str
    event_time: datetime
    event_name: str
    role_arn: str | None
    role_account: str | None
    principal: str
    principal_account: str | None
    source_ip: str | None
    user_agent: str | None
    dedup_key: str
    evidence: dict[str, Any]
    #: Both copies of a cross-account call share it (``sharedEventID``, else ``eventID``).
    assumption_id: str
    #: Caller category: same_account, organization, vendor, external, saml, web_identity, ...
    category: str
    #: Where the role's trust metadata came from: snapshot, iam, not_found or unavailable.
    metadata: str
    region: str | None = None
    #: Group-wide claims (see monitor.state.store) this finding rests on; never serialized.
    _claims: tuple[Any, ...] = PrivateAttr(default=())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def finding_id(self) -> str:
        """Stable across restarts, re-reads and instances: what every sink deduplicates on
        (the outbox's key, the webhook's Idempotency-Key, the Kafka record key, SNS FIFO's
        deduplication id). Two findings share it only when they are one finding."""
        return finding_id(self.detector, self.dedup_key, self.assumption_id)

    @property
    def claims(self) -> tuple[Any, ...]:
        return self._claims

    def add_claims(self, claims: tuple[Any, ...]) -> None:
        """Attach claims (private state, so a frozen finding may still carry them)."""
        if claims:
            self._claims = self._claims + claims

    @field_serializer("event_time")
    def _rfc3339(self, value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_json(self) -> bytes:
        """One JSON object, keys in a stable order, no trailing newline."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


def finding_id(detector: str, dedup_key: str, assumption_id: str) -> str:
    """32 hex characters of SHA-256 over the fields that make a finding one finding."""
    raw = f"{detector}\x00{dedup_key}\x00{assumption_id}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]
