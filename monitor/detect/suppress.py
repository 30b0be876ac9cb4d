"""Suppression rules: findings an operator decided not to be paged for, counted not dropped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from fnmatch import fnmatchcase

from monitor.config.settings import Suppression
from monitor.findings import Finding


class Suppressor:
    def __init__(self, rules: Iterable[Suppression]) -> None:
        self.rules = list(rules)

    def match(self, finding: Finding) -> Suppression | None:
        """The first rule that applies to ``finding`` (event-time expiry), or None."""
        day = finding.event_time.date()
        for rule in self.rules:
            if _applies(rule, finding, day):
                return rule
        return None


def _applies(rule: Suppression, finding: Finding, day: date) -> bool:
    if rule.expires is not None and day > rule.expires:
        return False
    if not fnmatchcase(finding.detector, rule.detector):
        return False
    fields = finding.model_dump(mode="json")
    return all(
        fnmatchcase(str(_field(fields, name) or ""), pattern)
        for name, pattern in rule.match.items()
    )


def _field(fields: dict[str, object], dotted: str) -> object:
    """``evidence.federation.subject``-style access into the finding."""
    value: object = fields
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
