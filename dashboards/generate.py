"""Writes the Grafana dashboards of this folder; the Python beside it is their source of truth.

The dashboards are built with grafana-foundation-sdk (Grafana's typed builders, generated from
its own schema): ``overview.py`` and ``detector_dashboard.py`` one function per row,
``panels.py`` the panel families, ``style.py`` queries, thresholds and links, ``shell.py``
variables, annotations and layout. Edit them, run ``.venv/bin/python dashboards/generate.py``
(the SDK comes with the test extras) and commit the code and the JSON. ``--check`` (and
tests/test_dashboards.py) fail when the committed JSON differs from what the code produces.
Every panel is described in docs/dashboards-and-alerts.md under a heading with its title.

The dashboards pick their Prometheus through the ``DS_PROMETHEUS`` variable (the provisioned
data source has uid ``prometheus``); the monitor's queries are scoped by the ``job`` and
``instance`` variables, the forwarder's by ``forwarder_job``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script, or loaded from its path by the tests
    sys.path.insert(0, str(HERE.parent))

from grafana_foundation_sdk.builders.dashboard import Dashboard  # noqa: E402

from dashboards.detector_dashboard import detectors  # noqa: E402
from dashboards.overview import overview  # noqa: E402
from dashboards.shell import as_json  # noqa: E402

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "role-usage-overview.json": overview,
    "role-usage-detectors.json": detectors,
}


def render() -> dict[str, str]:
    """File name -> the exact JSON text committed for it."""
    return {name: as_json(build()) for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    if stale:
        command = ".venv/bin/python dashboards/generate.py"
        print(f"stale: {', '.join(stale)}; run {command}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
