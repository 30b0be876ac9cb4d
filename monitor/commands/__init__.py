"""One module per ``role-monitor`` subcommand; each exposes ``register(subparsers)``."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.commands import config_cmd, detectors_cmd, produce, replay, roles, run


def register_all(commands: argparse._SubParsersAction[Any]) -> None:
    for module in (replay, detectors_cmd, run, produce, roles, config_cmd):
        module.register(commands)
