"""The noisiest groups of findings, and the suppression rules that would silence them.

``role-monitor tune`` groups findings by detector and what they are about (principal, role, or
dedup key), ranks the groups by count and writes each as a rule of the ``suppressions`` config
section (see :mod:`monitor.detect.suppress`). A rule matches its group exactly: values become globs
with their glob characters escaped, and only the start of a burst or rate bucket that ends a
dedup key is widened to ``*``, so a rule covers that key's next burst as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import yaml

from monitor.intake.text import clean

#: ``--by`` names → the finding field a rule matches on.
FIELDS = {"principal": "principal", "role": "role_arn", "key": "dedup_key"}
REASON = "TODO: why this is expected, who owns it (ticket)"
#: ``…@<start>`` ending a dedup key: the burst or bucket start (see detectors/windows.py).
_WINDOW_START = re.compile(r"@\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?$")
_GLOB = re.compile(r"([*?\[])")


@dataclass
class Group:
    """Findings of one detector about one thing: how many, and when."""

    detector: str
    #: The rule's ``match``: finding field → glob.
    match: dict[str, str]
    count: int
    first: datetime
    last: datetime

    def add(self, count: int, first: datetime, last: datetime) -> None:
        self.count += count
        self.first = min(self.first, first)
        self.last = max(self.last, last)


def literal(value: str) -> str:
    """A glob matching ``value`` only (``*``, ``?`` and ``[`` escaped as ``[*]`` …)."""
    return _GLOB.sub(r"[\1]", value)


def key_glob(dedup_key: str) -> str:
    """A glob for a dedup key and its later windows: a trailing ``@<start>`` becomes ``@*``."""
    head = _WINDOW_START.sub("", dedup_key)
    return literal(head) + ("@*" if head != dedup_key else "")


class Grouper:
    """Accumulates findings (or merge windows) into groups keyed by detector and match."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, tuple[tuple[str, str], ...]], Group] = {}
        self.findings = 0

    def add(
        self, detector: str, match: dict[str, str], count: int, first: datetime, last: datetime
    ) -> None:
        self.findings += count
        key = (detector, tuple(sorted(match.items())))
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = Group(detector, match, count, first, last)
        else:
            group.add(count, first, last)

    def noisiest(self, top: int, min_count: int) -> list[Group]:
        ranked = sorted(
            (g for g in self.groups.values() if g.count >= min_count),
            key=lambda g: (-g.count, -g.last.timestamp(), g.detector, sorted(g.match.items())),
        )
        return ranked[:top]


def add_finding(grouper: Grouper, finding: dict[str, Any], by: Sequence[str]) -> bool:
    """Count one finding (a JSON object of the findings contract); False when it is not one."""
    detector, when = finding.get("detector"), finding.get("event_time")
    if not isinstance(detector, str) or not isinstance(when, str):
        return False
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    match = {}
    for name in by:
        field = FIELDS[name]
        value = finding.get(field)
        # A rule's "" matches a field that is absent or null, and nothing else.
        text = "" if value is None else str(value)
        match[field] = key_glob(text) if field == "dedup_key" else literal(text)
    grouper.add(detector, match, 1, at, at)
    return True


def add_merged(grouper: Grouper, rows: Iterable[tuple[str, datetime, datetime, int]]) -> None:
    """Count the state's merge windows (``StateStore.merged_keys``) by dedup key."""
    for dedup_key, start, last, repeats in rows:
        detector = dedup_key.split(":", 1)[0]
        grouper.add(detector, {"dedup_key": key_glob(dedup_key)}, repeats + 1, start, last)


def suppression_block(groups: Sequence[Group], expires: date) -> Iterator[str]:
    """The ``suppressions:`` section for ``groups``, each rule under a comment with its counts."""
    yield "suppressions:" if groups else "suppressions: []"
    for number, group in enumerate(groups, 1):
        plural = "s" if group.count != 1 else ""
        span = f"{_time(group.first)} to {_time(group.last)}"
        yield f"  # {number}: {group.count} finding{plural}, {span}"
        rule = {
            "detector": group.detector,
            "match": group.match,
            "expires": expires,
            "reason": REASON,
        }
        # ASCII only: any other character is escaped, so no value can end a line early.
        text = yaml.safe_dump([rule], sort_keys=False, width=1_000_000)
        yield from (f"  {line}" for line in text.splitlines())


def table(groups: Sequence[Group]) -> Iterator[str]:
    """One comment line per group: count, first and last time, detector, what it matches."""
    yield f"# {'count':>7}  {'first':20}  {'last':20}  detector: match"
    for group in groups:
        what = " ".join(f"{field}={value}" for field, value in group.match.items())
        yield (
            f"# {group.count:>7}  {_time(group.first)}  {_time(group.last)}  "
            f"{clean(group.detector, 60)}: {clean(what, 160)}"
        )


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
