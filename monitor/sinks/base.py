"""The sink contract."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from monitor.findings import Finding


class SinkError(Exception):
    """The sink could not take the findings now (down, refused, timed out)."""


class Sink(Protocol):
    #: Bounded: used as a metric label.
    name: str

    def send(self, findings: Sequence[Finding]) -> None:
        """Deliver ``findings`` or raise :class:`SinkError`; may buffer until :meth:`flush`.

        A finding this sink accepted before is not sent again (see :class:`Accepted`), so a
        caller may retry a whole batch after a partial failure."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


#: Findings a sink remembers having accepted (the newest; about 100 bytes each).
ACCEPTED_LIMIT = 50_000


def finding_key(finding: Finding) -> str:
    """Identity of one finding: ``monitor.sinks.delivery.finding_id``'s fields plus the event id, so
    two findings that differ at all are never taken for one."""
    raw = "\x00".join(
        (finding.detector, finding.dedup_key, finding.assumption_id or "", finding.event_id or "")
    )
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Accepted:
    """What one sink has accepted, so a retried batch never resends it.

    Why in each sink: a batch is retried whole when any part of it fails (a neighbouring sink, or
    the 7th of 10 POSTs of this one). Without this, one webhook answering 503 to a POST in five
    turned 200 findings into 345 Slack messages. Bounded: the newest ``limit`` keys; older ones
    are long committed (the state's delivered marks cover restarts).
    """

    def __init__(self, limit: int = ACCEPTED_LIMIT) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def __contains__(self, finding: Finding) -> bool:
        return finding_key(finding) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, finding: Finding) -> None:
        self.add_key(finding_key(finding))

    def add_key(self, key: str) -> None:
        self._keys[key] = None
        if len(self._keys) > self._limit:
            self._keys.popitem(last=False)

    def new(self, findings: Sequence[Finding]) -> list[Finding]:
        """``findings`` not accepted yet, each once, in order."""
        seen: set[str] = set()
        out = []
        for finding in findings:
            key = finding_key(finding)
            if key not in self._keys and key not in seen:
                seen.add(key)
                out.append(finding)
        return out
