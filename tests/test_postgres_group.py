"""Several ``role-monitor run`` instances in one group sharing a PostgreSQL state (real broker,
real PostgreSQL): a kill -9, a database outage and a rebalance, each finding paged once.

The stream puts the two copies of every cross-account call on different partitions (each copy
keyed by its own eventID), so only the shared state can tell they are one assumption; callers
come from a few outside accounts, so a few (account → role) pairs are first seen, each by
whichever instance reads one of its assumptions first. What must be delivered is computed by
one in-memory pipeline: every finding by id, except first-seen findings, which belong to
whichever assumption of the pair the group saw first and are compared by pair.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka_service import Service, Setup, read_topic, send, wait_until
from kafka_stream import Message, caller_copy, owner_copy
from plugins.kafka_broker import KafkaBroker
from plugins.postgres_server import PostgresServer

from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.sinks.delivery import Delivery, finding_id

pytestmark = pytest.mark.kafka

PARTITIONS = 6
FIRST_SEEN = "cross_account_first_seen"
DETECTORS = {FIRST_SEEN: {"learning_period": "0s"}}
#: The kill lands between two interval checkpoints: no finding ends a batch early.
HOLD = {"urgent_severity": "critical"}


def outsider(record: dict[str, Any], n: int) -> dict[str, Any]:
    """The record with its caller moved to one of four outside accounts (four pairs)."""
    text = json.dumps(record).replace("777788889999", f"77778888{n % 4:04d}")
    return dict(json.loads(text))


def group_stream(first: int, count: int) -> list[Message]:
    """Both copies of ``count`` cross-account calls, each copy keyed by its own eventID."""
    messages = []
    for n in range(first, first + count):
        for record in (outsider(caller_copy(n), n), outsider(owner_copy(n), n)):
            messages.append(Message(record["eventID"].encode(), json.dumps(record).encode()))
    return messages


def expected(messages: list[Message]) -> tuple[set[str], set[str]]:
    """(finding ids except first-seen, first-seen dedup keys) of one in-memory instance."""
    from kafka_stream import _Collect, stream_settings

    monitor = build_monitor(stream_settings(detectors=DETECTORS), state_path=":memory:")
    found: dict[str, Finding] = {}
    delivery = Delivery([_Collect(found)], monitor.state, monitor.metrics)
    for message in messages:
        delivery.deliver(monitor.pipeline.process(message.value).findings)
    monitor.close()
    ids = {fid for fid, f in found.items() if f.detector != FIRST_SEEN}
    pairs = {_pair(f) for f in found.values() if f.detector == FIRST_SEEN}
    assert ids and len(pairs) == 4
    return ids, pairs


def _pair(finding: Finding) -> str:
    """The (account → role) pair of a first-seen finding (its dedup key names the caller)."""
    return str(finding.evidence["pair"])


class Group:
    """One test's topic, PostgreSQL database, and the instances' configs and findings."""

    def __init__(self, setup: Setup, url: str) -> None:
        self.setup = setup
        self.url = url
        self.names: list[str] = []

    def config(self, name: str, **kafka: Any) -> Path:
        path = self.setup.config(name, **kafka)
        document = yaml.safe_load(path.read_text())
        document["state"] = {"url": self.url}
        document["detectors"] = DETECTORS
        path.write_text(yaml.safe_dump(document))
        return path

    def start(self, name: str, **kafka: Any) -> Service:
        self.names.append(name)
        return Service(self.config(name, **kafka), name=name)

    def findings(self) -> list[Finding]:
        """Every finding any instance delivered, repeats kept (whole lines only)."""
        out = []
        for name in self.names:
            path = self.setup.findings_file(name)
            if path.exists():
                lines = path.read_bytes().split(b"\n")[:-1]
                out += [Finding.model_validate_json(line) for line in lines if line.strip()]
        return out

    def complete(self, ids: set[str], pairs: set[str]) -> bool:
        found = self.findings()
        got_ids = {finding_id(f) for f in found if f.detector != FIRST_SEEN}
        got_pairs = {_pair(f) for f in found if f.detector == FIRST_SEEN}
        return got_ids == ids and got_pairs == pairs and self.setup.all_committed()

    def shortfall(self, ids: set[str], pairs: set[str]) -> str:
        """What ``complete`` still waits for, for a timeout's message."""
        found = self.findings()
        got_ids = {finding_id(f) for f in found if f.detector != FIRST_SEEN}
        got_pairs = {_pair(f) for f in found if f.detector == FIRST_SEEN}
        committed, end = self.setup.offsets()
        lagging = {p: (committed[p], end[p]) for p in end if committed.get(p) != end[p]}
        return (
            f"missing ids {sorted(ids - got_ids)[:5]} ({len(ids - got_ids)}), "
            f"missing pairs {sorted(pairs - got_pairs)[:5]} ({len(pairs - got_pairs)}), "
            f"partitions not committed (committed, end) {lagging}"
        )

    def assert_exactly_once(self, ids: set[str], pairs: set[str]) -> None:
        found = self.findings()
        by_id = Counter(finding_id(f) for f in found if f.detector != FIRST_SEEN)
        by_pair = Counter(_pair(f) for f in found if f.detector == FIRST_SEEN)
        assert {k: n for k, n in by_id.items() if n > 1} == {}, "findings paged twice"
        assert {k: n for k, n in by_pair.items() if n > 1} == {}, "first-seen pairs paged twice"
        assert set(by_id) == ids and set(by_pair) == pairs


@pytest.fixture
def group(kafka_broker: KafkaBroker, postgres_url: str, tmp_path: Path) -> Iterator[Group]:
    topic = kafka_broker.create_topic(f"group-{tmp_path.name[-20:]}", partitions=PARTITIONS)
    setup = Setup(kafka_broker.bootstrap, topic, tmp_path)
    kafka_broker.create_topic(setup.dead_letter_topic)
    yield Group(setup, postgres_url)


def test_three_instances_kill_9_and_restart_page_each_finding_once(group: Group) -> None:
    messages = group_stream(0, 300)
    ids, pairs = expected(messages)
    third = len(messages) // 3
    send(group.setup.bootstrap, group.setup.topic, messages[:third])
    services = [
        group.start(name, commit_interval="1s", commit_every=10**6, **HOLD) for name in "abc"
    ]
    restarted = None
    try:
        for service in services:
            service.wait_assigned(60)
        wait_until(lambda: len(group.findings()) > 20, 60, "the first findings")
        producer = threading.Thread(
            target=_trickle, args=(group.setup, messages[third : 2 * third]), daemon=True
        )
        producer.start()
        _kill_mid_batch(services[1], group.setup.findings_file("b"))
        producer.join(timeout=60)
        restarted = group.start("b2", commit_interval="1s", commit_every=10**6, **HOLD)
        send(group.setup.bootstrap, group.setup.topic, messages[2 * third :])
        wait_until(lambda: group.complete(ids, pairs), 120, "every finding from the group")
        for service in (services[0], services[2], restarted):
            assert service.stop()[0] == 0
    finally:
        for service in [*services, *([restarted] if restarted else [])]:
            service.ensure_stopped()
    group.assert_exactly_once(ids, pairs)


def test_postgres_away_for_20_s_loses_and_doubles_nothing(
    group: Group, postgres_server: PostgresServer
) -> None:
    messages = group_stream(0, 200)
    ids, pairs = expected(messages)
    half = len(messages) // 2
    send(group.setup.bootstrap, group.setup.topic, messages[:half])
    services = [group.start(name, metrics_port=0) for name in "ab"]
    try:
        for service in services:
            service.wait_assigned(60)
        wait_until(lambda: len(group.findings()) > 20, 60, "the first findings")
        postgres_server.stop()
        try:
            send(group.setup.bootstrap, group.setup.topic, messages[half:])
            wait_until(
                lambda: all(_metric(s, "role_monitor_state_up") == 0 for s in services),
                30,
                "both instances to see the database away",
            )
            assert all(_readyz(s) == 503 for s in services)
            time.sleep(20)  # the outage itself
            for service in services:
                service.check_alive()
        finally:
            postgres_server.start()
        wait_until(lambda: group.complete(ids, pairs), 120, "every finding after the outage")
        assert all(_readyz(s) == 200 for s in services)
        for service in services:
            assert service.stop()[0] == 0
    finally:
        for service in services:
            service.ensure_stopped()
    group.assert_exactly_once(ids, pairs)


def test_records_that_need_the_database_while_it_is_away_are_read_again(
    group: Group, postgres_server: PostgresServer
) -> None:
    """An instance that has seen no event yet must ask the database for the group's
    observation start: with the database away, its first records are read again once it is
    back, not dead-lettered."""
    messages = group_stream(0, 40)
    ids, pairs = expected(messages)
    service = group.start("a", metrics_port=0)
    try:
        service.wait_assigned(60)
        postgres_server.stop()
        try:
            send(group.setup.bootstrap, group.setup.topic, messages)
            wait_until(lambda: _metric(service, "role_monitor_state_up") == 0, 30, "state down")
        finally:
            postgres_server.start()
        wait_until(lambda: group.complete(ids, pairs), 90, "every finding after the outage")
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    assert read_topic(group.setup.bootstrap, group.setup.dead_letter_topic) == []
    assert not service.logged("processing a message failed")
    group.assert_exactly_once(ids, pairs)


def test_an_instance_joining_mid_stream_forks_no_baseline(group: Group) -> None:
    """A rebalance mid-stream: the same findings as one instance, each once."""
    messages = group_stream(0, 200)
    ids, pairs = expected(messages)
    half = len(messages) // 2
    send(group.setup.bootstrap, group.setup.topic, messages[:half])
    one = group.start("a")
    two = None
    try:
        one.wait_assigned(60)
        wait_until(lambda: len(group.findings()) > 10, 60, "a's first findings")
        producer = threading.Thread(
            target=_trickle, args=(group.setup, messages[half:]), daemon=True
        )
        producer.start()
        two = group.start("b")
        two.wait_assigned(60)
        producer.join(timeout=60)
        wait_until(lambda: group.complete(ids, pairs), 120, "every finding from the pair")
        assert one.stop()[0] == 0 and two.stop()[0] == 0
    finally:
        one.ensure_stopped()
        if two is not None:
            two.ensure_stopped()
    group.assert_exactly_once(ids, pairs)


def _trickle(setup: Setup, messages: list[Message], chunk: int = 10) -> None:
    for start in range(0, len(messages), chunk):
        send(setup.bootstrap, setup.topic, messages[start : start + chunk])
        time.sleep(0.05)


def _kill_mid_batch(service: Service, path: Path, interval: float = 1.0) -> None:
    """kill -9 half an interval after one of its checkpoints delivered: mid-batch."""
    wait_until(path.exists, 60, "the instance's first delivery")
    size = path.stat().st_size
    wait_until(lambda: path.stat().st_size > size, 60, "a checkpoint", step=0.005)
    time.sleep(interval / 2)
    service.kill()


def _port(service: Service) -> int:
    entries: list[dict[str, Any]] = []
    wait_until(
        lambda: (
            bool(entries.extend(service.logged("serving /metrics, /healthz, /readyz")))
            or bool(entries)
        ),
        30,
        "the metrics endpoint",
    )
    return int(entries[0]["fields"]["port"])


def _metric(service: Service, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{_port(service)}/metrics", timeout=5) as r:
        text = r.read().decode()
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(values[0]) if values else -1.0


def _readyz(service: Service) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{_port(service)}/readyz", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
