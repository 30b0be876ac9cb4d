"""One module per ``role-monitor`` subcommand; each exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.commands import (
    config_cmd,
    detectors_cmd,
    forward,
    learn,
    produce,
    replay,
    roles,
    run,
    tune,
)


def register_all(commands: argparse._SubParsersAction[Any]) -> None:
    for module in (replay, detectors_cmd, run, produce, roles, config_cmd, learn, tune, forward):
        module.register(commands)
