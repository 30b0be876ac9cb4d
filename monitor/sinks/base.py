"""The sink contract."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from monitor.findings import Finding


class SinkError(Exception):
    """The sink could not take the findings now (down, refused, timed out)."""


class Sink(Protocol):
    """Where findings go. Remembers nothing of what it sent: the outbox does (see
    :mod:`monitor.sinks.delivery`), and hands a sink chunks of at most ``batch`` findings,
    dropping a chunk from the outbox once :meth:`send` and :meth:`flush` returned.

    A sink may also have ``batch: int`` (default 1): findings per chunk. Above 1 only when a
    crash between the receiver taking a chunk and the outbox dropping it costs no second
    page, because the receiver (or the sink, on open) deduplicates by ``Finding.finding_id``.
    """

    #: Bounded: used as a metric label.
    name: str

    def send(self, findings: Sequence[Finding]) -> None:
        """Deliver ``findings`` or raise :class:`SinkError`; may buffer until :meth:`flush`."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def finding_key(finding: Finding) -> str:
    """``Finding.finding_id``'s fields plus the event id: tells apart the members of one
    event's page (see monitor.sinks.pages), whose ids alone could coincide."""
    raw = "\x00".join(
        (finding.detector, finding.dedup_key, finding.assumption_id or "", finding.event_id or "")
    )
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]
