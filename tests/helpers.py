"""Small builders shared by tests: settings from dicts, a pipeline, records."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.service.app import Monitor, build_monitor
from monitor.sinks.delivery import Delivery

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"
REPO = Path(__file__).parent.parent


def corpus_record(relative: str) -> dict[str, Any]:
    """A record from tests/fixtures/corpus (first one when the file holds an array)."""
    data = json.loads((CORPUS / relative).read_text())
    return copy.deepcopy(data[0] if isinstance(data, list) else data)


def settings(**sections: Any) -> Settings:
    return Settings(base_dir=REPO, **{"state": {"path": ":memory:"}, **sections})


class ListSink:
    """Collects what it is sent (the sink contract, in memory)."""

    name = "list"

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def send(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def flush(self) -> None: ...

    def close(self) -> None: ...


def run_records(records: list[Any], config: Settings | None = None) -> tuple[Monitor, ListSink]:
    """Each record as its own message through a fresh monitor; findings collected."""
    monitor = build_monitor(config or settings(), state_path=":memory:")
    sink = ListSink()
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    for record in records:
        payload = record if isinstance(record, bytes) else json.dumps(record).encode()
        delivery.deliver(monitor.pipeline.process(payload).findings)
    return monitor, sink


def cli(*args: str, cwd: Path = REPO, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``role-monitor ARGS`` in a child process (text in and out)."""
    command = [sys.executable, "-m", "monitor.cli", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``result``, once it is known to have succeeded (else its stderr is the failure)."""
    assert result.returncode == 0, result.stderr
    return result
