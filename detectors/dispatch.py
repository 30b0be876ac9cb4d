"""Which detector hooks run on an assumption, looked up once per kind of assumption.

Most detectors can act on a small share of assumptions only (AssumeRoot, failures, break-glass
roles, federated calls...). Each declares it (:attr:`detectors.base.Detector.applies`); the
table below maps an assumption's traits (:class:`detectors.base.DispatchKey`) to the hooks whose
declaration admits it, in registry order: an ordinary same-account AssumeRole runs 6 of 44.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from detectors.base import Applies, Detector, DispatchKey
from monitor.trust.enrich import EnrichedEvent

#: One hook to run: the detector (for its id) and the bound method.
Hook = tuple[Detector, Callable[..., Any]]


class Dispatch:
    """The detect and after hooks of ``detectors`` that can act on each kind of assumption."""

    def __init__(self, detectors: list[Detector]) -> None:
        self.detectors = detectors  # not a copy: see Pipeline.dispatch
        #: Filled on first sight of each key: the key's fields are bounded sets, so this stays
        #: a few dozen entries.
        self._table: dict[DispatchKey, tuple[list[Hook], list[Hook]]] = {}

    def hooks(self, ev: EnrichedEvent) -> tuple[list[Hook], list[Hook]]:
        """(detect hooks, after hooks) to run on ``ev``."""
        key = DispatchKey.of(ev)
        found = self._table.get(key)
        if found is None:
            found = self._table[key] = self.build(key)
        return found

    def build(self, key: DispatchKey) -> tuple[list[Hook], list[Hook]]:
        detect = [(d, d.detect) for d in self.detectors if _admits(d.applies, key)]
        after = [
            (d, d.after) for d in self.detectors if has_after(d) and _admits(d.after_applies, key)
        ]
        return detect, after


class RunAll(Dispatch):
    """Every hook held to its declaration on each assumption afresh, without the table: what
    the table is checked against in tests. A hook never checks its declaration itself."""

    def hooks(self, ev: EnrichedEvent) -> tuple[list[Hook], list[Hook]]:
        return self.build(DispatchKey.of(ev))


def has_after(detector: Detector) -> bool:
    """False when the detector keeps the base class's no-op :meth:`Detector.after`."""
    return type(detector).after is not Detector.after


def _admits(applies: Applies | None, key: DispatchKey) -> bool:
    return applies is None or applies.admits(key)
