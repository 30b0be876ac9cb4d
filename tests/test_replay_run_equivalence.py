"""The same messages through ``replay`` (files) and ``run`` (the real broker): equal outcomes.

Why: the two commands share the pipeline, but each used to decide on its own what to skip
(``run`` had a byte pre-filter that missed IAM role changes and counted cut-short messages as
skipped). Every fixture of the repository is fed to both, one message per file / Kafka record
in the same order: the corpus files as published (including the documentation examples that
are not valid JSON), every peer case and its record, every golden detector case record, the
mixed-envelope stream with its garbage, and hostile messages aimed at the pre-filter. Outcome
counts, dead letters and findings must be equal.

Retention and the late-event grace of expired facts are set beyond the fixtures' time span
(2014 to 2026): ``replay`` prunes expired state after each file and ``run`` at checkpoints, so
a prune boundary inside the stream would fall at different records by design (with 10 years'
retention, a 2014 record read again after a prune is a new event in one and a duplicate in the
other; with a one-day grace, a 2014 record would miss a session fact pruned after a 2026 one).
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka_service import ROLE_MONITOR, Service, offsets, read_topic, send, wait_until
from kafka_stream import ORG_ACCOUNT, Message, mixed_stream
from plugins.kafka_broker import KafkaBroker, unique_topic_name
from prometheus_client.parser import text_string_to_metric_families

from monitor.findings import Finding
from monitor.sinks.delivery import finding_id

pytestmark = pytest.mark.kafka

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
CASES = TESTS / "detector_cases"

#: Messages aimed at the byte pre-filter and the decoder.
HOSTILE = [
    b'{"eventSource": "ec2.amazonaws.com", "eventName": "RunInst',  # cut short, no marker
    b'{"eventSource": "iam.amazonaws.com", "eventName": "CreateRo',  # cut short, IAM
    b'{"eventVersion": "1.08", "eventSource": "sts\\u002eamazonaws.com", "eventName": '
    b'"AssumeRole", "eventTime": "2026-03-02T10:00:00Z", "eventID": "hostile-escape", '
    b'"userIdentity": {"type": "IAMUser", "accountId": "666666666666", '
    b'"arn": "arn:aws:iam::666666666666:user/x"}, '
    b'"requestParameters": {"roleArn": "arn:aws:iam::222222222222:role/R"}}',
    b'{"eventSource": "organizations.amazonaws.com", "eventName": "LeaveOrganization"}',
    b'{"eventSource": "iam.amazonaws.com", "eventName": "CreateSAMLProvider", '
    b'"eventTime": "yesterday", "eventID": "bad-time"}',
    b'[{"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}, 7]',
    b"[]",
    b"   ",
    gzip.compress(b'{"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}'),
]


def fixture_messages() -> list[bytes]:
    """Every fixture file as published, then the records inside the labelled ones."""
    files = sorted(
        p for p in FIXTURES.rglob("*") if p.is_file() and p.name.endswith((".json", ".gz"))
    )
    messages = [path.read_bytes() for path in files]
    for path in files:
        if path.parent.name in ("peer-cases", "iam-changes", "trust-policies"):
            document = json.loads(path.read_bytes())
            for key in ("record", "resource"):
                if isinstance(document, dict) and key in document:
                    messages.append(json.dumps(document[key]).encode())
    for path in sorted(CASES.glob("*/*.json")):
        if not path.parent.name.startswith("_"):
            case = json.loads(path.read_bytes())
            messages.extend(json.dumps(record).encode() for record in case["records"])
    return messages


def all_messages() -> list[bytes]:
    stream = [message.value for message in mixed_stream()]
    return [*stream, *fixture_messages(), *HOSTILE]


def authorization_details(inventory: Path) -> list[str]:
    """The golden cases' role snapshots (the folder also holds a list-accounts file)."""
    return [str(p) for p in sorted(inventory.glob("*.json")) if "RoleDetailList" in p.read_text()]


def config(folder: Path, bootstrap: str, topic: str) -> Path:
    document: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topics": [topic],
            "group_id": f"{topic}-group",
            "dead_letter_topic": f"{topic}.dlq",
            "commit_interval": "0.3s",
            "commit_every": 50,
        },
        "organization": {
            "accounts": [ORG_ACCOUNT, "111111111111", "222222222222", "333333333333"],
            "id": "o-abcdefghij",
        },
        "trusted_external_accounts": ["999988887777"],
        "inventory": {"authorization_details": authorization_details(CASES / "_inventory")},
        "federation": {
            "allowed_providers": ["AWSSSO_*", "token.actions.githubusercontent.com"],
            "allowed_subjects": {"token.actions.githubusercontent.com": ["repo:acme/*"]},
        },
        "state": {
            "path": str(folder / "state.db"),
            "retention": "36500d",
            "late_event_grace": "36500d",
        },
        # ``run`` dead-letters records older than clock.max_age (3 years) as implausible for a
        # live stream; the fixtures go back to 2014, so both commands must accept them here.
        "clock": {"max_age": "36500d"},
        "alerts": {"jsonl": {"path": str(folder / "findings.jsonl")}},
        "metrics": {"port": 0, "address": "127.0.0.1"},
        "log": {"level": "INFO"},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def replay(messages: list[bytes], config_path: Path, folder: Path) -> dict[str, Any]:
    inputs = folder / "inputs"
    inputs.mkdir()
    for number, payload in enumerate(messages):
        (inputs / f"{number:05d}.json").write_bytes(payload)
    dead = folder / "replay-dead.jsonl"
    result = subprocess.run(
        [str(ROLE_MONITOR), "replay", "--config", str(config_path), "--dead-letter", str(dead),
         str(inputs)],
        capture_output=True,
        timeout=300,
        check=True,
    )  # fmt: skip
    summary = result.stderr.decode()
    outcomes = {
        "processed": _count(summary, "in-scope events processed"),
        "skipped": _count(summary, "skipped as out of scope"),
        "duplicate": _count(summary, "duplicate copies"),
        "rejected": _count(summary, "rejected"),
    }
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    return {
        "outcomes": outcomes,
        "dead_letters": Counter((d["reason"], d["detail"]) for d in letters),
        "findings": _findings(result.stdout.splitlines()),
    }


def _count(summary: str, label: str) -> int:
    found = re.search(rf"^{re.escape(label)}[^:]*: (\d+)", summary, flags=re.M)
    assert found, f"{label!r} not in the summary:\n{summary}"
    return int(found.group(1))


def _findings(lines: list[bytes]) -> Counter[str]:
    """Each finding whole (as JSON), so any difference in any field shows."""
    found = [Finding.model_validate_json(line) for line in lines if line.strip()]
    return Counter(f"{finding_id(f)} {f.to_json().decode()}" for f in found)


def run(
    messages: list[bytes], config_path: Path, folder: Path, broker: KafkaBroker, topic: str
) -> dict[str, Any]:
    send(broker.bootstrap, topic, [Message(None, payload) for payload in messages])
    service = Service(config_path)
    try:
        service.wait_assigned()

        def all_committed() -> bool:
            service.check_alive()
            committed, end = offsets(broker.bootstrap, topic, f"{topic}-group")
            return committed == end

        wait_until(all_committed, timeout=120, what="every offset committed")
        metrics = _scrape(service)
        code, _ = service.stop()
    finally:
        service.ensure_stopped()
    assert code == 0
    records = {
        labels["outcome"]: int(value)
        for name, labels, value in metrics
        if name == "role_monitor_records_total"
    }
    dead = read_topic(broker.bootstrap, f"{topic}.dlq")
    letters = [dict(record.headers) for record in dead]
    findings_file = folder / "findings.jsonl"
    lines = findings_file.read_bytes().splitlines() if findings_file.exists() else []
    return {
        "outcomes": records,
        "dead_letters": Counter((h["reason"].decode(), h["detail"].decode()) for h in letters),
        "findings": _findings(lines),
    }


def _scrape(service: Service) -> list[tuple[str, dict[str, str], float]]:
    (entry,) = service.logged("serving /metrics, /healthz, /readyz")
    url = f"http://127.0.0.1:{entry['fields']['port']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def test_replay_and_run_agree_on_every_fixture(
    kafka_broker: KafkaBroker, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    messages = all_messages()
    topic = kafka_broker.create_topic(unique_topic_name(request.node.name), 1)  # one order
    kafka_broker.create_topic(f"{topic}.dlq")
    (tmp_path / "replay").mkdir()
    (tmp_path / "run").mkdir()
    replayed = replay(
        messages,
        config(tmp_path / "replay", kafka_broker.bootstrap, topic),
        tmp_path / "replay",
    )
    ran = run(
        messages,
        config(tmp_path / "run", kafka_broker.bootstrap, topic),
        tmp_path / "run",
        kafka_broker,
        topic,
    )
    # The comparison means something only if every kind of outcome occurred.
    assert all(replayed["outcomes"][kind] > 0 for kind in replayed["outcomes"])
    assert {reason for reason, _ in replayed["dead_letters"]} >= {
        "invalid_json", "invalid_gzip", "unknown_envelope", "not_an_object", "bad_event_time",
    }  # fmt: skip
    detectors = {line.split('"detector":"', 1)[1].split('"', 1)[0] for line in replayed["findings"]}
    assert {"identity_provider_changed", "account_left_organization", "trust_policy_opened"} <= (
        detectors
    )
    assert ran["outcomes"] == replayed["outcomes"]
    assert ran["dead_letters"] == replayed["dead_letters"]
    assert ran["findings"] == replayed["findings"]
