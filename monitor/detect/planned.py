"""Planned windows (``maintenance_windows``): findings of a game day or drill, lowered not dropped.

A DR game day makes rate anomalies and fan-outs on purpose. Silencing them would hide what else
happens that day, so a finding inside a window keeps every field, says which window and why in
``evidence.maintenance_window``, and is lowered one severity step (never below info) so that it
stops paging where routing pages on severity. Two kinds are never lowered, only annotated:

- break-glass and root findings (``break_glass_*``, ``root_*``): the team's rule is "no missed
  break-glass use", and a drill that really needs the break-glass role should page anyway;
- callers from outside the organization and its trusted vendors (category ``external``): a
  drill is run by our own people and automation, so an outsider is never part of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from monitor.config.settings import ConfigError, MaintenanceWindow
from monitor.findings import Finding, Severity

#: Detector ids whose findings page inside a window too (annotated, same severity).
NEVER_LOWERED = ("break_glass_*", "root_*")
#: Caller categories a drill never explains.
NEVER_LOWERED_CATEGORIES = frozenset({"external"})
TITLE_REASON_LIMIT = 80


def lowered(severity: Severity) -> Severity:
    """One step down, never below info."""
    order = list(Severity)
    return order[min(order.index(severity) + 1, len(order) - 1)]


def check_detectors(windows: Sequence[MaintenanceWindow], known: Iterable[str]) -> None:
    """A window's detector glob that names no detector is a typo: a one-line config error."""
    ids = list(known)
    for number, window in enumerate(windows):
        for glob in window.detectors:
            if not any(fnmatchcase(detector, glob) for detector in ids):
                raise ConfigError(
                    f"maintenance_windows.{number}.detectors: {glob!r} names no detector "
                    "(see role-monitor detectors)"
                )


class PlannedWindows:
    """The configured windows, applied to each finding after its severity override."""

    def __init__(self, windows: Sequence[MaintenanceWindow]) -> None:
        self.windows = list(windows)

    def apply(self, finding: Finding) -> Finding:
        """``finding`` annotated (and lowered, see the module) when a window covers it."""
        for number, window in enumerate(self.windows):
            if covers(window, finding):
                return _annotated(finding, number, window)
        return finding


def covers(window: MaintenanceWindow, finding: Finding) -> bool:
    """Inside ``[start, end)``, for one of its detectors and accounts (empty lists: any)."""
    if not window.start <= finding.event_time < window.end:
        return False
    if window.detectors and not any(fnmatchcase(finding.detector, g) for g in window.detectors):
        return False
    account = finding.role_account or finding.principal_account
    return not window.accounts or account in window.accounts


def keeps_severity(finding: Finding) -> bool:
    return finding.category in NEVER_LOWERED_CATEGORIES or any(
        fnmatchcase(finding.detector, glob) for glob in NEVER_LOWERED
    )


def _annotated(finding: Finding, number: int, window: MaintenanceWindow) -> Finding:
    severity = finding.severity if keeps_severity(finding) else lowered(finding.severity)
    note = {
        "index": number,
        "reason": window.reason,
        "start": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "severity_before": finding.severity.value,
        "lowered": severity is not finding.severity,
    }
    title = f"{finding.title} [planned: {window.reason[:TITLE_REASON_LIMIT]}]"
    return finding.model_copy(
        update={
            "severity": severity,
            "title": title,
            "evidence": {**finding.evidence, "maintenance_window": note},
        }
    )
