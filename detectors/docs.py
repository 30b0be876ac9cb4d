"""``docs/detectors.md``, generated from the registry: one section per detector.

The runbook link of every alert points at ``docs/detectors.md#<id>``, so the page is built from
the same classes that raise the findings (id, severity, summary, docstring, knobs with their
defaults and descriptions) and a test fails when the committed page drifts from them.
Regenerate with ``python -m detectors.docs > docs/detectors.md``.
"""

from __future__ import annotations

import inspect
import sys
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from detectors import registry
from detectors.base import Detector
from detectors.windows import human

INTRO = """\
# Detectors

Every detector of `role-monitor`, generated from the code by `python -m detectors.docs`
(`role-monitor detectors` lists the same from the command line). Alert runbook links point at
the sections below (`docs/detectors.md#<id>`).

Every detector takes these settings under `detectors.<id>` in the YAML, besides its own knobs:
`enabled` (default `true`) and `severity` (overrides the default below). Findings can be
dropped by `suppressions` (counted, with an optional expiry date) and repeats with the same
`dedup_key` are merged into the first finding for `dedup.window` (default 1h); each section says
what a detector's dedup key is made of. Time is always event time (CloudTrail `eventTime`).
"""


def render() -> str:
    """The whole page."""
    parts = [INTRO, _index()]
    parts.extend(_section(cls) for cls in registry.ALL)
    return "\n".join(parts)


def _index() -> str:
    rows = ["| id | severity | contract | summary |", "|---|---|---|---|"]
    for cls in registry.ALL:
        contract = "yes" if cls in registry.CONTRACT else ""
        rows.append(
            f"| [`{cls.id}`](#{cls.id}) | {cls.severity.value} | {contract} | {cls.summary} |"
        )
    return "\n".join(rows) + "\n"


def _section(cls: type[Detector]) -> str:
    lines = [f"## {cls.id}", ""]
    facts = [f"**Severity:** {cls.severity.value}"]
    if cls in registry.CONTRACT:
        facts.append("**Contract:** id and meaning are stable")
    facts.append(f"**Needs:** {', '.join(cls.needs) if cls.needs else 'the event only'}")
    lines += [" · ".join(facts), "", f"> {cls.summary}", "", f"**Dedup key:** {cls.dedup_by}.", ""]
    doc = inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""
    if doc:
        lines += [doc, ""]
    lines += _knobs(cls.id, cls.Options)
    return "\n".join(lines)


def _knobs(detector_id: str, options: type[BaseModel]) -> list[str]:
    if not options.model_fields:
        return ["No knobs.", ""]
    rows = ["| knob | default | meaning |", "|---|---|---|"]
    for name, spec in options.model_fields.items():
        meaning = (spec.description or "").replace("\n", " ")
        rows.append(
            f"| `detectors.{detector_id}.{name}` | `{knob_value(spec.default)}` | {meaning} |"
        )
    return [*rows, ""]


def knob_value(value: Any) -> str:
    """A knob's default as an operator writes it in YAML (``7d``, not ``7 days, 0:00:00``)."""
    if isinstance(value, timedelta):
        return human(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "[]"
    return str(value.value if hasattr(value, "value") else value)


if __name__ == "__main__":
    sys.stdout.write(render())
