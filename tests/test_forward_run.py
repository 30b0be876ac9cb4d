"""A trail bucket through ``forward`` and ``run`` pages exactly what ``replay s3://`` pages.

The bundled sample organisation's stream is delivered as an organisation trail would deliver
it (two accounts, three days, digests beside them) into a moto bucket whose notifications go
to SQS; ``role-monitor forward`` moves it into a topic of the real broker and ``role-monitor
run`` consumes it. ``replay`` of the same bucket must deliver the same findings. One partition:
across partitions ``run`` sees records in another order than the bucket holds them, by design.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from forwarding import Trail, aws_env, log_body
from helpers import REPO
from kafka_service import Service, Setup, wait_until
from kafka_stream import finding_ids
from plugins.kafka_broker import KafkaBroker

from monitor.intake.envelopes import Record, decode

pytestmark = [pytest.mark.kafka, pytest.mark.aws]

EXAMPLES = REPO / "examples"
ACCOUNTS = ("111111111111", "222222222222")


def _sample() -> list[dict[str, Any]]:
    return [
        item.data
        for path in sorted((EXAMPLES / "stream").glob("*.json.gz"))
        for item in decode(path.read_bytes())
        if isinstance(item, Record)
    ]


def _deliver(trail: Trail) -> None:
    """The sample over three days and two accounts, in delivery order, plus a digest."""
    records = _sample()
    for number, day in enumerate(("01", "02", "03")):
        for index, account in enumerate(ACCOUNTS):
            part = records[number * 2 + index :: 6]
            stamp = f"202611{day}T{9 + index:02d}00Z"
            name = f"{account}_CloudTrail_us-east-1_{stamp}_abc{number}.json.gz"
            folder = f"AWSLogs/o-exampleorg/{account}/CloudTrail/us-east-1/2026/11/{day}/"
            trail.put(folder + name, log_body(part))
            digest = folder.replace("CloudTrail/", "CloudTrail-Digest/")
            trail.put(f"{digest}{account}_CloudTrail-Digest_us-east-1_x_{stamp}.json.gz", b"{}")


def _sample_config(folder: Path, **sections: Any) -> Path:
    """examples/config.yaml with its files made absolute and ``sections`` replaced."""
    document = yaml.safe_load((EXAMPLES / "config.yaml").read_text())
    org = document["organization"]
    org["accounts_file"] = str(EXAMPLES / org["accounts_file"])
    inventory = document["inventory"]
    inventory["authorization_details"] = [
        str(EXAMPLES / path) for path in inventory["authorization_details"]
    ]
    document.update(sections)
    path = folder / "sample-run.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_forwarded_trail_pages_what_replay_pages(
    moto_server: str, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    trail = Trail(moto_server, kafka_broker.bootstrap, tmp_path)
    kafka_broker.create_topic(trail.topic, 1)
    trail.notify_queue()
    _deliver(trail)
    trail.forward_until_empty()

    setup = Setup(kafka_broker.bootstrap, trail.topic, tmp_path)
    findings = tmp_path / "findings.jsonl"
    config = _sample_config(
        tmp_path,
        kafka={
            "bootstrap_servers": setup.bootstrap,
            "topics": [setup.topic],
            "group_id": setup.group,
            "dead_letter_topic": setup.dead_letter_topic,
            "commit_interval": "0.3s",
        },
        state={"path": str(tmp_path / "state.db")},
        alerts={"jsonl": {"path": str(findings)}},
        metrics={"port": None},
        log={"level": "INFO", "format": "json"},
    )
    service = Service(config)
    try:
        wait_until(
            lambda: setup.all_committed() and service.process.poll() is None,
            120,
            "run to commit every forwarded record",
        )
        code, _ = service.stop()
        assert code == 0
    finally:
        service.ensure_stopped()
    run_pages = finding_ids(findings.read_bytes().splitlines())

    replay_config = _sample_config(tmp_path)
    env = {**aws_env(), "ROLE_MONITOR_S3__ENDPOINT_URL": moto_server}
    replayed = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "replay",
            "--config",
            str(replay_config),
            f"s3://{trail.name}/AWSLogs/",
        ],
        capture_output=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, **env},
    )
    assert replayed.returncode == 0, replayed.stderr.decode()[-2000:]
    replay_pages = finding_ids(replayed.stdout.splitlines())
    assert replay_pages  # the sample must page, or the comparison proves nothing
    assert sorted(run_pages) == sorted(replay_pages)
