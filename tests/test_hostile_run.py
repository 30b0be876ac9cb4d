"""``role-monitor run`` against hostile input, round two (issue 21), each against the real
broker in a real process: what a user sees is the dead-letter topic, the findings file, the
group's commits and the process's own peak memory.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka_service import Service, Setup, owed, read_topic, send, wait_until
from kafka_stream import Message, expected_findings, sts_stream
from plugins.kafka_broker import TOPIC_PARTITIONS, KafkaBroker
from test_clock import ORG as CLOCK_ORG
from test_clock import assumption, forged
from test_hardening_run import edited, silent_server  # noqa: F401 - a fixture
from test_message_limits import empty_lists

pytestmark = pytest.mark.kafka


@pytest.fixture
def setup(kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path) -> Setup:
    made = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(made.dead_letter_topic)
    return made


def peak_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def test_amplifying_messages_cost_one_bounded_dead_letter_each(setup: Setup) -> None:
    """Point 1: the 64 KB gzip of 22 million empty lists and the 346-byte one of 100k, between
    good messages. Before: a 4.8 GB peak (killed under a 2 GB limit, the partition stuck) and
    78k dead letters each the whole message. Now: one dead letter per message, an excerpt of at
    most 64 KiB, every good finding delivered and everything committed, in bounded memory."""
    good = sts_stream(0, 10, noise_every=10**9)
    hostile = [Message(None, empty_lists(22_000_000)), Message(None, empty_lists(100_000))]
    send(setup.bootstrap, setup.topic, good[:5] + hostile + good[5:])
    service = Service(setup.config(metrics_port=0))
    try:
        wait_until(
            lambda: setup.all_committed() and len(setup.delivered()) == 10,
            120,
            "every message handled and committed",
        )
        peak = peak_mib(service.process.pid)
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    assert sorted(setup.delivered()) == sorted(expected_findings(good))
    letters = read_topic(setup.bootstrap, setup.dead_letter_topic)
    reasons = sorted(dict(letter.headers)["reason"].decode() for letter in letters)
    assert reasons == ["too_many_elements", "too_many_records"]
    assert all(len(letter.value) <= 64 * 1024 for letter in letters)
    print(f"service peak RSS {peak:.0f} MiB")
    assert peak < 300, f"the service peaked at {peak:.0f} MiB"


def readyz(service: Service) -> int:
    import urllib.error
    import urllib.request

    port = service.logged("serving /metrics, /healthz, /readyz")[0]["fields"]["port"]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_sink_that_never_answers_is_down_within_the_readiness_grace(
    setup: Setup,
    silent_server: str,  # noqa: F811 - the fixture imported above
) -> None:
    """Point 3: a webhook that accepts the connection and never answers. Before: /readyz
    turned 503 only after 62.7 s and the lag read 0 while 840 were waiting. Now each sink call
    ends at ``alerts.call_timeout`` and a checkpoint counts as failing from when it began: 503
    within ``metrics.ready_after_delivery_failing`` (3 s here, plus one scrape), the lag shown."""
    messages = sts_stream(0, 40, noise_every=10**9)
    config = setup.config(
        metrics_port=0,
        commit_every=10,
        alerts={"webhook": {"url": silent_server, "format": "generic"}, "call_timeout": "1s"},
    )
    text = config.read_text().replace(
        "metrics:\n", "metrics:\n  ready_after_delivery_failing: 3s\n"
    )
    config.write_text(text)
    service = Service(config)
    try:
        service.wait_assigned()
        wait_until(lambda: readyz(service) == 200, 30, "ready before the outage")
        send(setup.bootstrap, setup.topic, messages)
        sent = time.monotonic()
        wait_until(lambda: readyz(service) == 503, 30, "/readyz 503")
        not_ready_after = time.monotonic() - sent
        wait_until(
            lambda: (
                sum(
                    service.metric("role_monitor_consumer_lag", topic=setup.topic, partition=str(p))
                    or 0
                    for p in range(TOPIC_PARTITIONS)
                )
                > 0
            ),
            30,
            "the lag showing the undelivered records",
        )
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    print(f"/readyz 503 {not_ready_after:.1f} s after the stream began")
    assert not_ready_after < 3 + 1 + 5, "the grace, one sink call, and the wait's steps"
    # Committed offsets are backed by the outbox: the silent webhook still owes the findings.
    committed, _ = setup.offsets()
    assert set(committed.values()) == {0} or owed(setup.folder / "state-a.db", "webhook") > 0


def clock_config(setup: Setup) -> Path:
    """The test_clock organization: 20 trusted outside callers, so only learning decides."""
    import yaml

    config = setup.config(metrics_port=0)
    document = yaml.safe_load(config.read_text())
    document["organization"] = {"accounts": [CLOCK_ORG]}
    document["trusted_external_accounts"] = [f"7777{n:08d}" for n in range(21)]
    config.write_text(yaml.safe_dump(document))
    return config


def keyed(*records: dict[str, Any]) -> list[Message]:
    """One key: one partition, read in the order sent."""
    return [Message(b"clock", json.dumps(record).encode()) for record in records]


def first_seen(setup: Setup) -> int:
    lines = setup.findings_file().read_bytes().splitlines()
    return sum(json.loads(line)["detector"] == "cross_account_first_seen" for line in lines)


def test_run_follows_the_stream_clock_through_a_backfill_and_a_catch_up(setup: Setup) -> None:
    """Point 4, both cases of the issue through ``role-monitor run``. Backfill: 20 pairs of
    June 2025, a denied record dated ten minutes from now, the same pairs eight days later
    (before: the baselines were pruned and 20 of 20 paged again; now none). Catch-up on a new
    group and state: a first record of 2024-01-01, then 20 new pairs of two days ago (before:
    learning started in 2024 and they fired; now learning starts with the stream)."""
    backfill = datetime(2025, 6, 2, tzinfo=UTC)
    stray = forged((datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    learned = [assumption(n, backfill + timedelta(minutes=n)) for n in range(1, 21)]
    again = [assumption(n, backfill + timedelta(days=8, minutes=n)) for n in range(1, 21)]
    service = Service(clock_config(setup))
    try:
        service.wait_assigned()
        for phase in (learned, [stray], again):  # each checkpointed (and pruned) on its own
            send(setup.bootstrap, setup.topic, keyed(*phase))
            wait_until(setup.all_committed, 60, "the phase committed")
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    assert first_seen(setup) == 0, "known pairs paged again after the stray record"

    catch_up = Setup(setup.bootstrap, setup.topic + ".catch-up", setup.folder / "catch-up")
    catch_up.folder.mkdir()
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    stream = [assumption(0, datetime(2024, 1, 1, tzinfo=UTC))]
    stream += [assumption(n, recent + timedelta(minutes=n)) for n in range(1, 21)]
    send(catch_up.bootstrap, catch_up.topic, keyed(*stream))
    service = Service(clock_config(catch_up))
    try:
        wait_until(catch_up.all_committed, 60, "the catch-up committed")
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    assert first_seen(catch_up) == 0, "the stream's first days were reported, not learned"
