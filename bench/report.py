"""The one table: every figure, its floor, the ratio and the target, plus the machine."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: Row labels, in order (the smoke test checks every one is printed).
ROWS = (
    "kafka, 10 % STS mix",
    "kafka, 100 % STS",
    "kafka, 10 % mix vs. floor without CRC check",
    "replay, gzip'd log files, --jobs 1",
    "replay, gzip'd log files, --jobs 2",
    "replay, JSON-lines day (22 % STS), --jobs 2",
    "per assumption in replay (--jobs 1, above the read floor)",
    "latency p50 (produce → finding)",
    "latency p99 (produce → finding)",
    "peak RSS, monitor run",
)


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = "" if self.met is None else ("yes" if self.met else "**no**")
        return [self.label, self.value, self.floor, self.ratio, self.target, verdict]


def rate(value: float) -> str:
    return f"{value:,.0f} rec/s"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(
        f"{name} {_version(name)}"
        for name in ("kafka-python", "orjson", "pydantic", "pydantic-core")
    )
    python = f"Python {sys.version.split()[0]} ({platform.python_implementation()})"
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {system}, {python}, {libs}"


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def table(title: str, notes: list[str], rows: list[Row]) -> str:
    header = ["measure", "monitor", "floor", "ratio", "target", "met"]
    lines = [f"### {title}", ""]
    lines += [f"- {note}" for note in notes]
    lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def append(path: Path, text: str) -> None:
    existing = path.read_text() if path.exists() else "# Benchmark results\n"
    path.write_text(existing.rstrip("\n") + "\n\n" + text)
