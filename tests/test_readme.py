"""The README's promises, checked: the demo's finding count and the "Run it locally" path.

A new user follows the README literally; a count that is off by one or a command that no longer
works is the first thing they meet.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
from kafka_service import ROLE_MONITOR, wait_until
from plugins.kafka_broker import KafkaBroker

from monitor.cli import main

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
EXAMPLES = REPO / "examples"


def demo_findings(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    """What `make demo` replays, as JSON findings."""
    args = ["replay", "--config", str(EXAMPLES / "config.yaml"), str(EXAMPLES / "stream")]
    assert main(args) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def readme_count() -> int:
    match = re.search(r"It prints\s+(\d+)\s+findings", README)
    assert match, "README no longer says how many findings the demo prints"
    return int(match.group(1))


def test_the_readme_says_how_many_findings_the_demo_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert len(demo_findings(capsys)) == readme_count()


def test_the_run_config_checks_clean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    assert main(["config", "check", "--config", str(EXAMPLES / "config-run.yaml")]) == 0
    assert "configuration OK" in capsys.readouterr().err


def test_commands_and_files_the_readme_names_exist() -> None:
    from monitor.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert commands is not None
    for used in set(re.findall(r"role-monitor ([a-z]+)", README)):
        assert used in commands, used
    for path in set(re.findall(r"(?:examples|scripts|docs|deploy)/[\w./-]+\w", README)):
        if not path.endswith(".db"):  # written by `run`
            assert (REPO / path).exists(), path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.mark.kafka
def test_the_run_it_locally_path(
    kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    """run + produce with examples/config-run.yaml: the demo's findings, metrics, a log line."""
    port = free_port()
    env = {
        **os.environ,
        "ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        # Isolation from other tests only; everything else is the README's file.
        "ROLE_MONITOR_KAFKA__TOPICS": kafka_topic,
        "ROLE_MONITOR_KAFKA__GROUP_ID": f"readme-{uuid.uuid4().hex[:8]}",
        "ROLE_MONITOR_KAFKA__DEAD_LETTER_TOPIC": f"{kafka_topic}.dlq",
        "ROLE_MONITOR_STATE__PATH": str(tmp_path / "run-state.db"),
        "ROLE_MONITOR_METRICS__PORT": str(port),
        "ROLE_MONITOR_LOG__FORMAT": "json",
    }
    config = str(EXAMPLES / "config-run.yaml")
    out, err = tmp_path / "findings.jsonl", tmp_path / "run.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        service = subprocess.Popen(
            [str(ROLE_MONITOR), "run", "--config", config], stdout=stdout, stderr=stderr, env=env
        )
    try:
        produce = [str(ROLE_MONITOR), "produce", "--config", config, str(EXAMPLES / "stream")]
        subprocess.run(produce, env=env, check=True, capture_output=True, timeout=120)
        expected = readme_count()
        wait_until(lambda: len(out.read_bytes().splitlines()) >= expected, 90, "the findings")
        status, body = get(f"http://127.0.0.1:{port}/metrics")
        total = sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("role_monitor_findings_total{")
        )
        assert status == 200 and total == expected
        assert get(f"http://127.0.0.1:{port}/")[0] == 200

        def delivered() -> int:
            lines = [json.loads(line) for line in err.read_text().splitlines() if line]
            counts = [re.fullmatch(r"delivered (\d+) findings", e["message"]) for e in lines]
            return sum(int(m.group(1)) for m in counts if m)

        wait_until(lambda: delivered() == expected, 30, "the delivery log lines")
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    assert len(out.read_bytes().splitlines()) == expected
