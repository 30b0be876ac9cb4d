"""The committed dashboards against Grafana's typed dashboard model (grafana-foundation-sdk).

The SDK's models are generated from Grafana's own schema. Each dashboard is read into the
SDK's ``Dashboard`` (panels through their plugin's options and field config, queries through
the Prometheus data query) and checked twice:

- written back, a key the model does not know is dropped on the way, so the difference is what
  Grafana's schema would not recognise. The few keys Grafana reads outside the schema are listed
  below with the reason; anything else (a misspelled ``fieldconfig``, a panel option that was
  renamed) fails.
- the SDK reads scalar values as they come, so every value read is compared with the type its
  model field declares: an enum's allowed values (``drawStyle: "bar"``, a legend placement
  ``"left"``), numbers, strings and booleans (``"w": "12"``, ``"instant": "false"``).
"""

from __future__ import annotations

import copy
import enum
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
FILES = ("role-usage-overview.json", "role-usage-detectors.json")

# Panel options, field config and queries are read through their plugin's model only once the
# plugins are registered; without this they would pass through unchecked.
register_default_plugins()

#: Keys Grafana reads that its schema (and so the SDK) does not carry.
OUTSIDE_THE_SCHEMA = [
    # null in files made for provisioning: Grafana assigns the database id on import.
    r"^\.id$",
    # The built-in "Annotations & Alerts" entry Grafana adds to every dashboard.
    r"^\.annotations\.list\[\d+\]\.builtIn$",
    # Prometheus annotation queries keep their options beside the query (the datasource's
    # own annotation editor writes them there).
    r"^\.annotations\.list\[\d+\]\.(step|titleFormat|textFormat|tagKeys|useValueForTime)$",
    # The query text of a query variable as the variable editor shows it.
    r"^\.templating\.list\[\d+\]\.definition$",
]


def lost_in_the_model(original: Any, written: Any, path: str = "") -> list[str]:
    """Paths of ``original`` that the round trip dropped or changed."""
    if isinstance(original, dict):
        if not isinstance(written, dict):
            return [f"{path} (not an object in the model)"]
        lost = []
        for key, value in original.items():
            if key not in written:
                lost.append(f"{path}.{key}")
            else:
                lost += lost_in_the_model(value, written[key], f"{path}.{key}")
        return lost
    if isinstance(original, list):
        if not isinstance(written, list) or len(written) != len(original):
            return [f"{path} (list changed)"]
        return [
            lost
            for index, (a, b) in enumerate(zip(original, written, strict=True))
            for lost in lost_in_the_model(a, b, f"{path}[{index}]")
        ]
    return [] if original == written else [f"{path}: {original!r} became {written!r}"]


def not_in_the_schema(document: dict[str, Any]) -> list[str]:
    written = json.loads(json.dumps(Dashboard.from_json(document), cls=JSONEncoder))
    return [
        path
        for path in lost_in_the_model(document, written)
        if not any(re.search(allowed, path) for allowed in OUTSIDE_THE_SCHEMA)
    ]


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type a model field declares."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arm) for arm in args)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(conforms(v, args[1]) for v in value.values())
    if origin is typing.Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value in {member.value for member in hint}
    if isinstance(hint, type) and hint is not object:
        return isinstance(value, hint)
    return True  # Any, object: the field takes whatever the plugin defines


def read_as_model(value: Any, hint: Any) -> Any:
    """``value`` read into the model ``hint`` names, where the SDK left it a plain object
    (it does so for a panel's transformations)."""
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    for arm in typing.get_args(hint) if union else (hint,):
        if isinstance(value, dict) and isinstance(arm, type) and hasattr(arm, "from_json"):
            return arm.from_json(value)
        if isinstance(value, list) and typing.get_origin(arm) is list:
            return [read_as_model(item, typing.get_args(arm)[0]) for item in value]
    return value


def mistyped(value: Any, path: str = "") -> list[str]:
    """Paths (model field names) whose value is not of its field's declared type."""
    if isinstance(value, list | dict):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        return [m for key, child in children for m in mistyped(child, f"{path}[{key!r}]")]
    if not type(value).__module__.startswith("grafana_foundation_sdk.models."):
        return []
    wrong = []
    for name, hint in typing.get_type_hints(type(value)).items():
        field = read_as_model(getattr(value, name), hint)
        if not conforms(field, hint):
            wrong.append(f"{path}.{name}: {field!r} is not {hint}")
        wrong += mistyped(field, f"{path}.{name}")
    return wrong


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("name", FILES)
def test_every_key_of_the_dashboard_is_in_grafanas_schema(name: str) -> None:
    assert not_in_the_schema(load(name)) == []


@pytest.mark.parametrize("name", FILES)
def test_every_value_of_the_dashboard_has_its_schema_type(name: str) -> None:
    assert mistyped(Dashboard.from_json(load(name))) == []


def test_a_misspelled_key_is_caught_at_any_depth() -> None:
    document = load(FILES[0])
    broken = copy.deepcopy(document)
    panel = next(p for p in broken["panels"] if "fieldConfig" in p)
    panel["fieldconfig"] = panel.pop("fieldConfig")
    assert any(path.endswith(".fieldconfig") for path in not_in_the_schema(broken))
    broken = copy.deepcopy(document)
    stat = next(p for p in broken["panels"] if p.get("type") == "stat")
    stat["options"]["reduceOptions"]["calc"] = stat["options"]["reduceOptions"].pop("calcs")
    assert any(path.endswith(".reduceOptions.calc") for path in not_in_the_schema(broken))


def first(document: dict[str, Any], kind: str) -> dict[str, Any]:
    panel: dict[str, Any] = next(p for p in document["panels"] if p.get("type") == kind)
    return panel


MALFORMED = {
    "an unknown draw style": (
        lambda d: first(d, "timeseries")["fieldConfig"]["defaults"]["custom"].update(
            drawStyle="bar"
        ),
        ".field_config.defaults.custom.draw_style: 'bar'",
    ),
    "a legend placement Grafana does not have": (
        lambda d: first(d, "timeseries")["options"]["legend"].update(placement="left"),
        ".options.legend.placement: 'left'",
    ),
    "a width as a string": (
        lambda d: first(d, "stat")["gridPos"].update(w="12"),
        ".grid_pos.w: '12'",
    ),
    "a query's instant flag as a string": (
        lambda d: first(d, "stat")["targets"][0].update(instant="false"),
        ".targets[0].instant: 'false'",
    ),
    "a threshold as a string": (
        lambda d: first(d, "stat")["fieldConfig"]["defaults"]["thresholds"]["steps"][-1].update(
            value="0.05"
        ),
        ".value: '0.05'",
    ),
    "a shared-crosshair mode that does not exist": (
        lambda d: d.update(graphTooltip=7),
        ".graph_tooltip: 7",
    ),
    "a transformation without its id": (
        lambda d: first(d, "table")["transformations"][0].update(id=None),
        ".transformations[0].id_val: None",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_mistyped_value_is_caught_at_any_depth(case: str) -> None:
    break_it, where = MALFORMED[case]
    broken = copy.deepcopy(load(FILES[0]))
    assert mistyped(Dashboard.from_json(broken)) == []
    break_it(broken)
    found = mistyped(Dashboard.from_json(broken))
    assert any(where in path for path in found), found
