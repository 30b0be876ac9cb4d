"""``role-monitor detectors``: every detector with its id, severity, needs and knobs."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("detectors", help="list every detector and its config knobs")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def describe() -> list[dict[str, Any]]:
    from detectors import registry
    from detectors.docs import knob_value

    rows = []
    for cls in registry.ALL:
        knobs = {
            name: {
                "default": knob_value(field.default),
                "type": str(field.annotation),
                "meaning": field.description or "",
            }
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
            print(f"    detectors.{row['id']}.{name} = {knob['default']}: {knob['meaning']}")
    return 0
