"""The crash harness (issue 20): kill -9 or SIGTERM at every step of a checkpoint, then a
restart, against the real broker, a real HTTP receiver and (for the group) PostgreSQL.

Each case makes the instance kill itself (``RM_CRASH_AT=step:N``, see
:mod:`monitor.crashpoints`) the Nth time it passes a step, restarts it on the same state, and
counts what every sink received: nothing lost, nothing twice, except the one documented repeat
(the chunk a sink took just before the kill, ``sink_sent``): the JSON-lines file deduplicates it
by its tail, a Kafka record repeats its key (the finding id), a webhook POST repeats once.

Steps, in checkpoint order: ``outbox_write`` (rows staged, before the state commit),
``state_commit`` (state + outbox committed), ``dead_letters`` (acknowledged), ``offset_commit``
(committed), ``sink_send`` (before a chunk goes to a sink), ``sink_sent`` (a sink took the
chunk, its rows not yet dropped). Pass numbers pick the sink: the first chunk of a checkpoint
goes to JSON lines, the second to Kafka, then one per finding to the webhook.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kafka_service import Service, Setup, read_topic, send, wait_until
from kafka_stream import expected_findings, sts_stream
from plugins.http_receiver import Receiver
from plugins.kafka_broker import KafkaBroker
from test_postgres_group import Group, expected, group, group_stream

__all__ = ["group"]  # the fixture, shared with test_postgres_group

pytestmark = pytest.mark.kafka

#: (step, pass, signal, the sink whose in-flight chunk may repeat: its most repeats).
CASES = [
    ("outbox_write", 2, "KILL", {}),
    ("state_commit", 2, "KILL", {}),
    ("dead_letters", 2, "KILL", {}),
    ("offset_commit", 2, "KILL", {}),
    ("sink_send", 5, "KILL", {}),
    ("sink_sent", 1, "KILL", {}),  # JSON lines took a chunk: its tail check drops the repeat
    ("sink_sent", 2, "KILL", {"kafka": 100}),  # Kafka acknowledged a chunk: keys repeat
    ("sink_sent", 5, "KILL", {"webhook": 1}),  # the webhook took one POST
    ("state_commit", 2, "TERM", {}),
    ("sink_sent", 5, "TERM", {}),
]


#: Small checkpoints; a static member id, so the restart takes over at once instead of
#: waiting for the killed member's session to expire.
FAST_TAKEOVER = {
    "commit_every": 20,
    "commit_interval": "0.3s",
    "group_instance_id": "crash-harness",
    "session_timeout": "6s",
}


@pytest.fixture
def setup(kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path) -> Setup:
    made = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(made.dead_letter_topic)
    kafka_broker.create_topic(made.alerts_topic)
    return made


def exit_code(victim: Service, timeout: float = 180) -> int:
    """The victim's exit status once its crash point fired (the log's tail if it never did)."""
    try:
        return victim.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        victim.ensure_stopped()
        tail = victim.log_path.read_text()[-3000:]
        raise AssertionError(f"no crash in {timeout}s:\n{tail}") from None


class Received:
    """What each sink holds: finding ids, repeats kept."""

    def __init__(self, setup: Setup, receiver: Receiver) -> None:
        self.setup = setup
        self.receiver = receiver

    def jsonl(self) -> list[str]:
        return self.setup.delivered("a")

    def webhook(self) -> list[str]:
        return [json.loads(body)["finding_id"] for body in self.receiver.accepted]

    def kafka(self) -> list[str]:
        return [r.key.decode() for r in read_topic(self.setup.bootstrap, self.setup.alerts_topic)]

    def all(self) -> dict[str, list[str]]:
        return {"jsonl": self.jsonl(), "kafka": self.kafka(), "webhook": self.webhook()}


def sinks(setup: Setup, receiver: Receiver) -> dict[str, Any]:
    return {
        "kafka": {"topic": setup.alerts_topic},
        "webhook": {"url": receiver.url, "format": "generic"},
    }


@pytest.mark.parametrize(("step", "count", "how", "may_repeat"), CASES)
def test_a_crash_at_any_checkpoint_step_loses_nothing_and_pages_once(
    setup: Setup,
    http_receiver: Receiver,
    step: str,
    count: int,
    how: str,
    may_repeat: dict[str, int],
) -> None:
    messages = sts_stream(0, 60)
    expected = set(expected_findings(messages))
    send(setup.bootstrap, setup.topic, messages)
    config = setup.config(**FAST_TAKEOVER, alerts=sinks(setup, http_receiver))
    crash = {"RM_CRASH_AT": f"{step}:{count}", "RM_CRASH_SIGNAL": how}
    victim = Service(config, env=crash)
    code = exit_code(victim)
    assert code == (-signal.SIGKILL if how == "KILL" else 0), victim.log_path.read_text()[-2000:]
    got = Received(setup, http_receiver)
    restarted = Service(config, name="a2")
    try:
        wait_until(
            lambda: (
                all(set(ids) == expected for ids in got.all().values()) and setup.all_committed()
            ),
            90,
            "every finding in every sink after the restart",
        )
        assert restarted.stop()[0] == 0
    finally:
        restarted.ensure_stopped()
    for sink, ids in got.all().items():
        repeats = sum(n - 1 for n in Counter(ids).values())
        assert set(ids) == expected, f"{sink}: lost {len(expected - set(ids))}"
        assert repeats <= may_repeat.get(sink, 0), f"{sink}: {repeats} repeated"


#: The group: a kill of one of three instances sharing PostgreSQL, at the steps where a
#: finding is decided and committed but not yet sent (no repeat is allowed there).
GROUP_CASES = [("outbox_write", 2), ("state_commit", 2), ("sink_send", 2)]


@pytest.mark.parametrize(("step", "count"), GROUP_CASES)
def test_a_kill_in_a_three_instance_group_loses_nothing_and_pages_once(
    group: Group, step: str, count: int
) -> None:
    messages = group_stream(0, 100)
    ids, pairs = expected(messages)
    crash = {"RM_CRASH_AT": f"{step}:{count}", "RM_CRASH_SIGNAL": "KILL"}

    def config(name: str) -> Path:
        options = {**FAST_TAKEOVER, "group_instance_id": f"crash-{name}"}
        return group.config(name, **options)

    group.names.extend("abc")
    services = [Service(config(n), name=n, env=crash if n == "b" else None) for n in "abc"]
    restarted = None
    try:
        for service in services:
            service.wait_assigned(60)
        # Sent once all three hold partitions: the victim gets a third of the work.
        send(group.setup.bootstrap, group.setup.topic, messages)
        code = exit_code(services[1])
        assert code == -signal.SIGKILL, services[1].log_path.read_text()[-2000:]
        restarted = Service(config("b"), name="b2")
        wait_until(
            lambda: group.complete(ids, pairs),
            120,
            "every finding from the group",
            explain=lambda: group.shortfall(ids, pairs),
        )
        for service in (services[0], services[2], restarted):
            assert service.stop()[0] == 0
    finally:
        for service in [*services, *([restarted] if restarted else [])]:
            service.ensure_stopped()
    group.assert_exactly_once(ids, pairs)
