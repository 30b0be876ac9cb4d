"""``role-monitor produce``: files into a topic, per record (keyed) or per envelope (raw).

Why: backfills and demos depend on it, and the per-record keys (the caller) are what keeps a
principal's calls, both copies of a cross-account call among them, in one partition, i.e.
with the one instance that holds the principal's windows and can pair the copies.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from kafka_service import ROLE_MONITOR, read_topic
from kafka_stream import caller_copy, noise, owner_copy
from plugins.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def write_inputs(folder: Path) -> list[Path]:
    log_file = folder / "trail.json.gz"
    log_file.write_bytes(
        gzip.compress(json.dumps({"Records": [caller_copy(1), owner_copy(1), noise()[0]]}).encode())
    )
    lines = folder / "more.jsonl"
    lines.write_text(json.dumps(caller_copy(2)) + "\n" + "this line is broken\n")
    return [log_file, lines]


def produce(config: Path, topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROLE_MONITOR), "produce", "--config", str(config), "--topic", topic, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(kafka_broker: KafkaBroker, tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"kafka": {"bootstrap_servers": kafka_broker.bootstrap}}))
    return path


def test_one_keyed_message_per_record(
    kafka_broker: KafkaBroker, kafka_topic: str, config: Path, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path)
    done = produce(config, kafka_topic, *map(str, inputs))
    assert done.returncode == 0, done.stderr
    assert f"produced 4 messages to {kafka_topic}" in done.stderr
    assert "1 inputs held no readable record" in done.stderr
    records = read_topic(kafka_broker.bootstrap, kafka_topic)
    assert len(records) == 4
    caller = caller_copy(1)["userIdentity"]
    key = f"{caller['accountId']}:{caller['principalId']}".encode()  # docs/scaling.md
    pair = [r for r in records if r.key == key]
    assert len(pair) == 2 and pair[0].partition == pair[1].partition
    assert all(json.loads(r.value)["eventVersion"] for r in records)


def test_as_envelope_sends_each_input_raw(
    kafka_broker: KafkaBroker, kafka_topic: str, config: Path, tmp_path: Path
) -> None:
    inputs = write_inputs(tmp_path)
    done = produce(config, kafka_topic, "--as-envelope", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"produced 3 messages to {kafka_topic}" in done.stderr
    values = {r.value for r in read_topic(kafka_broker.bootstrap, kafka_topic)}
    assert inputs[0].read_bytes() in values, "the gzip'd log file travels byte for byte"
    assert b"this line is broken" in values


def test_missing_input_is_a_usage_error(config: Path) -> None:
    done = produce(config, "unused", "/no/such/file.json")
    assert done.returncode == 2
    assert "no such file or folder" in done.stderr
