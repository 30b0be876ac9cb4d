"""The sink contract."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.findings import Finding


class SinkError(Exception):
    """The sink could not take the findings now (down, refused, timed out)."""


class Sink(Protocol):
    #: Bounded: used as a metric label.
    name: str

    def send(self, findings: Sequence[Finding]) -> None:
        """Deliver ``findings`` or raise :class:`SinkError`; may buffer until :meth:`flush`."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
