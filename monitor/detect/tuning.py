"""The noisiest groups of findings, and the suppression rules that would silence them.

``role-monitor tune`` groups findings by detector and what they are about (principal, role, or
dedup key, or a mechanism: see :mod:`monitor.detect.tuning_mechanisms`), ranks the groups by
count and writes each as a rule of the ``suppressions`` config section (see
:mod:`monitor.detect.suppress`). A rule matches its group exactly: values become globs with
their glob characters escaped, and only the start of a burst or rate bucket that ends a dedup
key is widened to ``*``, so a rule covers that key's next burst as well.

Never a rule on an empty or missing field: a rule's ``""`` matches every finding without that
field (``role_arn: ""`` silences every identity-provider change), so such findings are grouped
by their mechanism or not at all.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import yaml

from monitor.detect.tuning_mechanisms import Match, literal, mechanism
from monitor.intake.text import clean

#: ``--by`` names → the finding field a rule matches on.
FIELDS = {"principal": "principal", "role": "role_arn", "key": "dedup_key"}
#: ``--by`` names that stand alone: a mechanism's fields, or exact where the noise repeats and
#: the mechanism where it is spread thin.
MECHANISM, AUTO = "mechanism", "auto"
#: What ``auto`` groups by where a (principal, role) pair itself repeats.
EXACT = ("principal", "role")
REASON = "TODO: why this is expected, who owns it (ticket)"
#: ``…@<start>`` ending a dedup key: the burst or bucket start (see detectors/windows.py).
_WINDOW_START = re.compile(r"@\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?$")


@dataclass
class Group:
    """Findings of one detector about one thing: how many, and when."""

    detector: str
    #: The rule's ``match``: finding field → glob.
    match: dict[str, str]
    count: int
    first: datetime
    last: datetime
    #: The mechanism the group is at (``hub role name`` …); empty for exact fields.
    kind: str = ""

    def add(self, count: int, first: datetime, last: datetime) -> None:
        self.count += count
        self.first = min(self.first, first)
        self.last = max(self.last, last)


def key_glob(dedup_key: str) -> str:
    """A glob for a dedup key and its later windows: a trailing ``@<start>`` becomes ``@*``."""
    head = _WINDOW_START.sub("", dedup_key)
    return literal(head) + ("@*" if head != dedup_key else "")


class Grouper:
    """Accumulates findings (or merge windows) into groups keyed by detector and match."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, tuple[tuple[str, str], ...]], Group] = {}
        self.findings = 0
        #: Findings left out: a field to group by was empty and no mechanism fits them.
        self.ungrouped = 0

    def add(
        self,
        detector: str,
        match: dict[str, str],
        count: int,
        first: datetime,
        last: datetime,
        kind: str = "",
    ) -> None:
        assert match and all(match.values()), "never a rule on an empty field"
        self.findings += count
        key = (detector, tuple(sorted(match.items())))
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = Group(detector, match, count, first, last, kind)
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
    head = _head(finding)
    if head is None:
        return False
    detector, at = head
    if list(by) == [MECHANISM]:
        kind, match = mechanism(finding) or ("", None)
    else:
        kind, match = "", exact_match(finding, by)
    if match is None:
        grouper.ungrouped += 1
    else:
        grouper.add(detector, match, 1, at, at, kind)
    return True


def add_auto(grouper: Grouper, findings: Iterable[dict[str, Any]], min_count: int) -> int:
    """Exact (principal, role) groups where a pair repeats; a mechanism's group where the noise is
    spread over several pairs (and is ``min_count`` or more); returns the non-findings.

    Why not always the mechanism: it is wider, and a rule should be no wider than the noise.
    """
    rows: list[tuple[str, datetime, Match | None, tuple[str, Match] | None]] = []
    sizes: Counter[tuple[str, ...]] = Counter()
    pairs: defaultdict[tuple[str, ...], set[object]] = defaultdict(set)
    skipped = 0
    for finding in findings:
        head = _head(finding)
        if head is None:
            skipped += 1
            continue
        exact, found = exact_match(finding, EXACT), mechanism(finding)
        rows.append((*head, exact, found))
        if found is not None:
            key = _mechanism_key(head[0], found)
            sizes[key] += 1
            pairs[key].add(tuple(sorted(exact.items())) if exact else len(rows))
    for detector, at, exact, found in rows:
        spread = found is not None and (
            sizes[_mechanism_key(detector, found)] >= min_count
            and len(pairs[_mechanism_key(detector, found)]) > 1
        )
        if found is not None and (spread or exact is None):
            grouper.add(detector, found[1], 1, at, at, found[0])
        elif exact is not None:
            grouper.add(detector, exact, 1, at, at)
        else:
            grouper.ungrouped += 1
    return skipped


def exact_match(finding: dict[str, Any], by: Sequence[str]) -> Match | None:
    """The rule's match on the ``by`` fields; None when one of them is empty or missing."""
    match = {}
    for name in by:
        field = FIELDS[name]
        value = finding.get(field)
        if value is None or str(value) == "":
            return None
        text = str(value)
        match[field] = key_glob(text) if field == "dedup_key" else literal(text)
    return match


def _mechanism_key(detector: str, found: tuple[str, Match]) -> tuple[str, ...]:
    return (detector, found[0], *sorted(f"{k}={v}" for k, v in found[1].items()))


def _head(finding: dict[str, Any]) -> tuple[str, datetime] | None:
    """(detector, event time) of a finding, None for anything else."""
    detector, when = finding.get("detector"), finding.get("event_time")
    if not isinstance(detector, str) or not isinstance(when, str):
        return None
    try:
        at = datetime.fromisoformat(when)
    except ValueError:
        return None
    return detector, at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def add_merged(grouper: Grouper, rows: Iterable[tuple[str, datetime, datetime, int]]) -> None:
    """Count the state's merge windows (``StateStore.merged_keys``) by dedup key."""
    for dedup_key, start, last, repeats in rows:
        detector = dedup_key.split(":", 1)[0]
        if not dedup_key:
            grouper.ungrouped += repeats + 1
            continue
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
        what = f"[{group.kind}] {what}" if group.kind else what
        yield (
            f"# {group.count:>7}  {_time(group.first)}  {_time(group.last)}  "
            f"{clean(group.detector, 60)}: {clean(what, 160)}"
        )


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
