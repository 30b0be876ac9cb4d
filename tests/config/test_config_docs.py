"""docs/configuration.md is generated from the settings models and documents every key.

Why a test: a reference that drifts from the loader sends operators to keys that do not exist
(an error, exit 2) or hides ones that do. The environment variable column is checked against
the loader itself, not against the generator's own naming rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import REPO

from monitor.commands import config_docs
from monitor.config.settings import Settings, load_settings

DOC = REPO / "docs" / "configuration.md"
ROWS = config_docs._rows(Settings, prefix="", env=config_docs.ENV_PREFIX)


def test_committed_page_matches_the_models() -> None:
    assert DOC.read_text(encoding="utf-8") == config_docs.render(), (
        "docs/configuration.md is stale: run `make docs`"
    )


def test_every_key_has_a_meaning() -> None:
    assert config_docs.missing_meanings() == [], "give the setting a Field(description=...)"


def _leaf_keys(model: type[Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        nested, _ = config_docs._model_of(field.annotation)
        if nested is not None:
            keys |= _leaf_keys(nested, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_every_setting_is_on_the_page() -> None:
    page = DOC.read_text(encoding="utf-8")
    wanted = _leaf_keys(Settings) - config_docs.INTERNAL - {"detectors", "suppressions"}
    missing = sorted(key for key in wanted if f"| `{key}` |" not in page)
    assert missing == []
    assert "| `detectors.<id>.enabled` |" in page and "| `suppressions[].reason` |" in page


def _read(settings: Settings, dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


SETTABLE = [
    row
    for row in ROWS
    if row.type in ("string", "string or null", "boolean")
    and row.env.startswith("`")
    and "<" not in row.key
    and not row.key.startswith(("alerts.", "state.path"))
]


@pytest.mark.parametrize("row", SETTABLE, ids=lambda row: row.key)
def test_the_documented_environment_variable_sets_the_key(
    row: config_docs.Row, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "o-abcdefghij" if row.type != "boolean" else "true"
    monkeypatch.setenv(row.env.strip("`"), value)
    expected: Any = True if row.type == "boolean" else value
    assert _read(load_settings(None), row.key) == expected


def test_detector_switches_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLE_MONITOR_DETECTORS__EXTERNAL_ACCOUNT__ENABLED", "false")
    assert load_settings(None).detectors["external_account"].enabled is False
