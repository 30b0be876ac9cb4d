"""Imports flow one way through the monitor's folders, and never in a cycle.

Why a test: the layout (``ARCHITECTURE.md``) is only a map while nothing keeps it true. A module
that imports a folder above its own (a detector reaching for a sink, state reaching for the
pipeline) is how the old 41-modules-side-by-side tangle came back; this fails on the first one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from helpers import REPO

# Lowest first; a module may import its own layer and any layer below it. ``monitor`` itself,
# ``monitor.findings`` and ``monitor.metrics`` are the shared models every layer may use.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("monitor.aws",),
    ("monitor", "monitor.findings", "monitor.metrics", "monitor.config"),
    ("monitor.intake",),
    ("monitor.state",),
    ("monitor.trust", "monitor.inventory"),
    ("monitor.detect", "detectors"),
    ("monitor.sinks", "monitor.sources"),
    ("monitor.service",),
    ("monitor.commands",),
    ("monitor.cli",),
)


def layer_of(module: str) -> int:
    """The layer of a dotted module name: its longest matching prefix decides."""
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    assert best >= 0, f"{module} belongs to no layer: add its folder to LAYERS"
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or path.joinpath("__init__.py").is_file()


def our_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import of ``monitor`` or ``detectors`` in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from package import submodule`` imports the submodule, not the package.
            names = [
                f"{node.module}.{alias.name}"
                if is_module(f"{node.module}.{alias.name}")
                else node.module
                for alias in node.names
            ]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("monitor", "detectors"):
                yield node.lineno, name


def sources() -> list[Path]:
    return sorted(
        [*REPO.joinpath("monitor").rglob("*.py"), *REPO.joinpath("detectors").rglob("*.py")]
    )


def test_every_import_goes_down_or_sideways() -> None:
    upward = [
        f"{path.relative_to(REPO)}:{line} imports {name} (layer {layer_of(name)} > "
        f"{layer_of(module_name(path))})"
        for path in sources()
        for line, name in our_imports(path)
        if layer_of(name) > layer_of(module_name(path))
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    graph = {module_name(path): {name for _, name in our_imports(path)} for path in sources()}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> list[str] | None:
        if state.get(module) == "done" or module not in graph:
            return None
        if state.get(module) == "open":
            return [*trail[trail.index(module) :], module]
        state[module] = "open"
        for dependency in sorted(graph[module]):
            cycle = visit(dependency, [*trail, module])
            if cycle:
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        assert cycle is None, " -> ".join(cycle)


def test_the_layer_check_catches_an_upward_import() -> None:
    """The check itself can fail: state importing the pipeline is upward."""
    assert layer_of("monitor.detect.pipeline") > layer_of("monitor.state.store")
    assert layer_of("monitor.service.kafka_service") > layer_of("monitor.sinks.delivery")
    assert layer_of("detectors.bursts") == layer_of("monitor.detect.pipeline")
