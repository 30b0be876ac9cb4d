"""``role-monitor learn --config FILE [--state PATH] PATH...``: fill the state from history.

It runs the very pipeline ``replay`` runs, over the same sources (files, folders, ``-``), so
the state it leaves (first-seen pairs, rate baselines, chains and sessions, open bursts, merge
windows) is the state of a monitor that had been running through that history: ``run`` and
``replay --state`` then start from it, and day one in production is as quiet as day ninety.
The findings it would have raised are counted on stderr and delivered nowhere; none is marked
delivered either, so nothing later is silently taken for already paged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.commands.replay import add_sources, feed, sources_of, state_path

if TYPE_CHECKING:  # the rest is imported when used: `role-monitor --help` must stay fast
    from monitor.config.settings import Settings
    from monitor.findings import Finding
    from monitor.state.store import StateStore

#: The state's meta key the learning periods of the detectors count from.
OBSERVATION_START = "observation_start"


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "learn", help="fill the state from past CloudTrail (baselines, pairs); deliver nothing"
    )
    parser.add_argument("--config", help="YAML configuration file")
    parser.add_argument(
        "--state", metavar="PATH", help="state file to fill (default: state.path of the config)"
    )
    add_sources(parser)
    parser.set_defaults(handler=run)


class Withheld:
    """``learn``'s stand-in for :class:`monitor.sinks.delivery.Delivery`: sends nothing and marks
    nothing delivered (the pipeline has already counted the findings for the summary)."""

    def enqueue(self, findings: Sequence[Finding]) -> int:
        return 0

    def stage(self) -> None:
        return None

    def committed(self) -> None:
        return None

    def drain(self, scopes: Sequence[str] | None = None) -> int:
        return 0


def run(args: argparse.Namespace) -> int:
    from monitor.config.settings import load_settings
    from monitor.service.app import build_monitor, configured_state
    from monitor.service.summary import summary_lines

    settings = load_settings(args.config)
    path = state_to_fill(args.state, settings)
    sources = sources_of(args, settings)
    monitor = build_monitor(settings, state_path=path)
    try:
        elapsed = feed(monitor, sources, Withheld(), args.dead_letter, args.jobs)
        start = date_learning_period(monitor.state, monitor.pipeline.stats.oldest)
        monitor.state.commit()
    finally:
        monitor.close()
    stats = monitor.pipeline.stats
    lines = summary_lines(stats, elapsed, "findings withheld (learning, none delivered)")
    if stats.oldest is not None and stats.newest is not None:
        lines.append(f"events learned: {_utc(stats.oldest)} to {_utc(stats.newest)}")
    if start is not None:
        lines.append(f"learning periods count from: {_utc(start)}")
    lines.append(f"state: {monitor.state.path}")
    configured = configured_state(settings)
    if Path(configured).resolve() != Path(monitor.state.path).resolve():
        lines.append(f"note: run reads state.path ({configured}); point it at this state")
    for line in lines:
        print(line, file=sys.stderr)
    return 0


def state_to_fill(value: str | None, settings: Settings) -> str:
    """``--state``, else a ``state.path`` the config sets on purpose: learning into a default
    file in the current folder, or into memory, would be work thrown away."""
    from monitor.config.settings import ConfigError
    from monitor.service.app import configured_state

    option = "--state"
    if value is None:
        if "path" not in settings.state.model_fields_set and settings.state.url is None:
            raise ConfigError("learn needs a state file: give --state PATH or set state.path")
        value, option = configured_state(settings), "state.path"
    if value == ":memory:":
        raise ConfigError(f"learn: {option} :memory: would be lost on exit; name a file")
    return state_path(value) if option == "--state" else value


def date_learning_period(state: StateStore, oldest: datetime | None) -> datetime | None:
    """Make the learning period count from the oldest event the state has learned.

    The pipeline dates it from the first event it *processed*; history read out of order (a
    newer file first, or one folder per account) would otherwise start it late.
    """
    stored = state.get_meta(OBSERVATION_START)
    known = [datetime.fromisoformat(stored)] if stored else []
    start = min([*known, *([oldest] if oldest else [])], default=None)
    if start is not None and start not in known:
        state.set_meta(OBSERVATION_START, start.isoformat())
    return start


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
