"""``role-monitor detectors``: every detector with its id, severity, needs and knobs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from detectors import registry


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("detectors", help="list every detector and its config knobs")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def describe() -> list[dict[str, Any]]:
    rows = []
    for cls in registry.ALL:
        knobs = {
            name: {"default": _plain(field.default), "type": str(field.annotation)}
            for name, field in cls.Options.model_fields.items()
        }
        rows.append(
            {
                "id": cls.id,
                "severity": cls.severity.value,
                "summary": cls.summary,
                "needs": list(cls.needs),
                "knobs": knobs,
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    rows = describe()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}  [{row['severity']}]")
        print(f"    {row['summary']}")
        if row["needs"]:
            print(f"    needs: {', '.join(row['needs'])}")
        for name, knob in row["knobs"].items():
            print(f"    detectors.{row['id']}.{name} (default {knob['default']})")
    return 0


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)
