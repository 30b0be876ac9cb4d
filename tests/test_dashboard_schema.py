"""The committed dashboards against Grafana's typed dashboard model (grafana-foundation-sdk).

The SDK's models are generated from Grafana's own schema. Each dashboard is read into the
SDK's ``Dashboard`` (panels through their plugin's options and field config, queries through
the Prometheus data query) and written back: a key the model does not know is dropped on the
way, so the difference is what Grafana's schema would not recognise. The few keys Grafana reads
outside the schema are listed below with the reason; anything else (a misspelled
``fieldconfig``, a panel option that was renamed) fails. What the SDK does not check: the type
of a scalar value (its models pass those through).
"""

from __future__ import annotations

import copy
import json
import re
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


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("name", FILES)
def test_every_key_of_the_dashboard_is_in_grafanas_schema(name: str) -> None:
    assert not_in_the_schema(load(name)) == []


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
