"""``role-monitor tune``: the noisiest finding groups and a suppression block to paste.

Reads a JSON-lines findings file (``--findings``: replay's output, the jsonl sink's file, ``-``;
findings the config's rules already suppress are left out)
or the state store (``--state``, default ``state.path``: what it keeps about merged findings).
Everything printed on stdout is YAML: the ranking as comments, then ``suppressions:`` with one
rule per group, an expiry and a reason to fill in, ready for the config file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from monitor.config.durations import parse_duration
from monitor.detect.tuning import (
    AUTO,
    FIELDS,
    MECHANISM,
    Grouper,
    add_auto,
    add_finding,
    add_merged,
    suppression_block,
    table,
)

if TYPE_CHECKING:  # pydantic's models are imported when used: `role-monitor --help` stays fast
    from monitor.config.settings import Settings
    from monitor.detect.suppress import Suppressor

STATE_NOTE = (
    "# from the state: each dedup key keeps only its latest merge window, so counts are a "
    "floor;\n# for whole counts run tune --findings over the findings (replay's output, the "
    "jsonl sink)"
)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "tune", help="the noisiest finding groups, with suppression rules ready to paste"
    )
    parser.add_argument("--config", help="YAML configuration file")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--state", metavar="PATH", help="state store to read (default: state.path)")
    source.add_argument(
        "--findings", metavar="FILE", help="JSON-lines findings (replay output), or - (stdin)"
    )
    parser.add_argument(
        "--by",
        default=None,
        help="what a group is about, comma-separated from principal, role, key (dedup key); or "
        "mechanism (a subject template, a hub's role name across accounts, a change set); or "
        "auto: principal,role where a pair repeats, the mechanism where the noise is spread "
        "over several pairs. Default auto for --findings, key (the only one) for the state",
    )
    parser.add_argument("--top", type=int, default=10, help="groups to list (default 10)")
    parser.add_argument(
        "--min-count", type=int, default=2, help="smallest group worth a rule (default 2)"
    )
    parser.add_argument(
        "--expires-in", default="30d", help="rules expire this long from today (default 30d)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from monitor.config.settings import load_settings

    settings = load_settings(args.config)
    expires = _expiry(args.expires_in)
    grouper = Grouper()
    if args.findings is not None:
        header = _from_findings(grouper, args, settings)
    else:
        header = _from_state(grouper, args, settings)
    groups = grouper.noisiest(args.top, args.min_count)
    expires_on = max([_today(), *(g.last.date() for g in groups)]) + expires
    print(header)
    print(f"# {len(grouper.groups)} groups; the {len(groups)} noisiest with {args.min_count}+:")
    for line in table(groups):
        print(line)
    print("# Paste the rules you agree with under `suppressions:` and say why in each reason.")
    for line in suppression_block(groups, expires_on):
        print(line)
    return 0


def _from_findings(grouper: Grouper, args: argparse.Namespace, settings: Settings) -> str:
    from monitor.detect.suppress import Suppressor

    by = _by(args.by or AUTO)
    rules = Suppressor(settings.suppressions)
    findings, skipped, known = _read_findings(args.findings, rules)
    if by == [AUTO]:
        skipped += add_auto(grouper, findings, args.min_count)
    else:
        skipped += sum(not add_finding(grouper, finding, by) for finding in findings)
    if skipped:
        print(f"role-monitor tune: {skipped} lines were not findings", file=sys.stderr)
    if known:
        print(f"role-monitor tune: {known} findings already suppressed", file=sys.stderr)
    if grouper.ungrouped:
        print(
            f"role-monitor tune: {grouper.ungrouped} findings left out: a field to group by is "
            "empty (a rule on it would match every finding without it) and no mechanism fits",
            file=sys.stderr,
        )
    return f"# role-monitor tune: {grouper.findings} findings in {args.findings}"


def _from_state(grouper: Grouper, args: argparse.Namespace, settings: Settings) -> str:
    from monitor.commands.roles import open_state
    from monitor.config.settings import ConfigError

    if _by(args.by or "key") != ["key"]:
        raise ConfigError("tune --state: the state keeps dedup keys only; use --by key")
    state = open_state(settings, args.state)
    if state is None:
        where = args.state or settings.state.path
        raise ConfigError(f"tune: no state file at {where}; give --state PATH or --findings FILE")
    try:
        add_merged(grouper, state.merged_keys())
    finally:
        state.close()
    return f"# role-monitor tune: {grouper.findings} findings merged in {state.path}\n{STATE_NOTE}"


def _by(value: str) -> list[str]:
    from monitor.config.settings import ConfigError

    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in FIELDS]
    if names in ([AUTO], [MECHANISM]):
        return names
    if unknown or not names:
        choices = ", ".join([*FIELDS, MECHANISM, AUTO])
        raise ConfigError(f"--by {value}: choose from {choices} (mechanism and auto alone)")
    return names


def _expiry(value: str) -> timedelta:
    from monitor.config.settings import ConfigError

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"--expires-in: {exc}") from exc


def _read_findings(name: str, suppressor: Suppressor) -> tuple[list[dict[str, Any]], int, int]:
    """The file's JSON objects, except findings the config's rules already suppress; with the
    lines that were not JSON objects and the findings left out."""
    found: list[dict[str, Any]] = []
    skipped = known = 0
    for line in _lines(name):
        if not line.strip():
            continue
        try:
            finding = orjson.loads(line)
        except orjson.JSONDecodeError:
            skipped += 1
            continue
        if not isinstance(finding, dict):
            skipped += 1
        elif _suppressed(finding, suppressor):
            known += 1
        else:
            found.append(finding)
    return found, skipped, known


def _suppressed(finding: dict[str, Any], suppressor: Suppressor) -> bool:
    """True when a rule of the config already covers ``finding`` (a whole one, as written)."""
    if not suppressor.rules:
        return False
    from pydantic import ValidationError

    from monitor.findings import Finding

    try:
        return suppressor.match(Finding.model_validate(finding)) is not None
    except ValidationError:
        return False


def _lines(name: str) -> Iterator[bytes]:
    from monitor.config.settings import ConfigError

    if name == "-":
        yield from sys.stdin.buffer
        return
    try:
        with Path(name).open("rb") as stream:
            yield from stream
    except OSError as exc:
        raise ConfigError(f"--findings {name}: {exc.strerror or exc}") from exc


def _today() -> date:
    return datetime.now(UTC).date()
