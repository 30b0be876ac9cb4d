"""``role-monitor roles --config FILE [--format table|json]``: the role posture report.

Roles come from the catalog (snapshot files, live IAM when enabled); usage (last assumption of
break-glass roles, grants used) from the state store at ``state.path`` (or ``--state``), as
written by ``run`` or ``replay --state``. Table output fits 100 columns.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: ``role-monitor --help`` should not load them
    from monitor.config.settings import Settings
    from monitor.state.store import StateStore
    from monitor.trust.posture_report import PostureReport, RoleRow

WIDTH = 100


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "roles", help="posture report: who may assume each role, and how; weak and dormant trust"
    )
    parser.add_argument("--config", help="YAML configuration file")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--state", metavar="PATH", help="state store to read usage from (default: state.path)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from monitor.config.settings import load_settings
    from monitor.service.app import build_catalog, build_org
    from monitor.trust.posture_report import build_report

    settings = load_settings(args.config)
    org = build_org(settings)
    catalog = build_catalog(settings, org)
    state = open_state(settings, args.state)
    try:
        report = build_report(catalog.roles(), settings, org, state)
    finally:
        if state is not None:
            state.close()
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(render_table(report)))
    return 0


def open_state(settings: Settings, override: str | None) -> StateStore | None:
    """The persistent state store, or None when there is none to read (in memory, missing)."""
    from monitor.service.app import configured_state, is_url, open_group_state
    from monitor.state.store import StateStore

    target = override or configured_state(settings)
    if is_url(target):
        return open_group_state(settings, target)  # a group's shared state
    if target == ":memory:":
        return None
    resolved = Path(target)  # configured_state already resolved the config's path
    return StateStore(resolved) if resolved.exists() else None


def render_table(report: PostureReport) -> list[str]:
    from monitor.trust.posture_report import iso_time

    window = report.window
    if window.known:
        seen = f"usage observed {iso_time(window.start)} .. {iso_time(window.end)} ({window.state})"
    else:
        seen = "no usage observed (no state store): last use and dormant trust unknown"
    lines = _wrap(f"{len(report.roles)} roles; {seen}", "", "  ")
    counts = ", ".join(f"{code} {n}" for code, n in report.flag_counts().items())
    lines += _wrap(f"flags: {counts or 'none'}", "", "  ")
    for role in report.roles:
        lines.append("")
        lines += _role_lines(role, window.known)
    return lines


def _role_lines(role: RoleRow, usage_known: bool) -> list[str]:
    from monitor.trust.posture_report import iso_time

    account = f"{role.account} {role.account_name}" if role.account_name else role.account
    lines = [f"{role.name}  ({account}, from {role.source})"]
    lines += _wrap(role.arn, "  ", "  ")
    lines.append("  may be assumed by:")
    for grant in role.grants:
        deny = "DENY " if grant.effect != "Allow" else ""
        lines += _wrap(f"{deny}{grant.principal} [{grant.scope}]", "    - ", "      ")
        how = "via " + ", ".join(grant.actions)
        if usage_known:
            used = iso_time(grant.last_used) if grant.last_used else "never"
            how += f"; last used {used}"
        lines += _wrap(how, "      ", "        ")
        for condition in grant.conditions:
            lines += _wrap(f"if {condition}", "      ", "        ")
    if not role.grants:
        lines.append("    (nobody: no readable grant)")
    for flag in role.flags:
        text = f"{flag.severity.upper():8} {flag.code}: {flag.detail}"
        lines += _wrap(text, "  ! ", " " * 13)
    for problem in role.problems:
        lines += _wrap(f"unreadable: {problem}", "  ? ", "    ")
    return lines


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """Lines of at most WIDTH columns; ARNs are long, so they break on any character."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]
