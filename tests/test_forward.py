"""``role-monitor forward``: S3 notifications on SQS (moto server) → records on the real broker.

At least once, never lost: a message is deleted only after every record of its objects was
acknowledged, so a forwarder killed mid-object leaves it on the queue and the next one sends
the object whole (repeats allowed, nothing missing). Unreadable objects and notifications go to
the dead letter topic; digests and non-CloudTrail objects are skipped and counted.
"""

from __future__ import annotations

import copy
import json
import signal
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from forwarding import ACCOUNT, ORG_ID, REGION, Trail, log_body, log_key
from kafka import KafkaConsumer
from kafka_service import wait_until
from kafka_stream import OUTSIDER, caller_copy
from plugins.kafka_broker import KafkaBroker

from monitor.config.settings import load_settings
from monitor.service.forwarder import Forwarder
from monitor.service.forwarder_metrics import ForwarderMetrics
from monitor.sources.sqs import Queue

pytestmark = [pytest.mark.kafka, pytest.mark.aws]


def _out_of_scope(n: int) -> dict[str, Any]:
    record = copy.deepcopy(caller_copy(n))
    record.update(eventSource="ec2.amazonaws.com", eventName="DescribeInstances")
    record["eventID"] = f"ec2-{n}"
    del record["sharedEventID"]
    return record


@pytest.fixture
def trail(moto_server: str, kafka_broker: KafkaBroker, tmp_path: Path) -> Trail:
    made = Trail(moto_server, kafka_broker.bootstrap, tmp_path)
    kafka_broker.create_topic(made.topic, 3)
    return made


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION)):  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _forward_in_process(trail: Trail, **forward: Any) -> ForwarderMetrics:
    """Runs a forwarder here until the queue is empty; its metrics to read back."""
    from kafka import KafkaProducer

    from monitor.sources.kafka_client import producer_options

    settings = load_settings(trail.config(**forward))
    producer = KafkaProducer(**producer_options(settings.kafka), enable_idempotence=True)
    metrics = ForwarderMetrics()
    forwarder = Forwarder(settings, Queue(settings.forward), producer, metrics)
    try:
        forwarder.run(until_empty=True)
    finally:
        forwarder.close()
        producer.close(timeout=5)
    return metrics


def _count(metrics: ForwarderMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.mark.usefixtures("aws_credentials")
def test_direct_sns_and_eventbridge_notifications_are_all_forwarded(trail: Trail) -> None:
    trail.notify_queue()
    trail.put(log_key(1), log_body([caller_copy(1), _out_of_scope(1)]))
    digest = (
        f"AWSLogs/{ORG_ID}/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/01/"
        f"{ACCOUNT}_CloudTrail-Digest_{REGION}_t_20261101T0000Z.json.gz"
    )
    trail.put(digest, b"{}")
    trail.put(f"AWSLogs/{ORG_ID}/{ACCOUNT}/Config/{REGION}/config.json.gz", b"not a trail")
    trail.notify_through_sns()
    trail.put(log_key(2), log_body([caller_copy(2)]))
    trail.s3.put_bucket_notification_configuration(Bucket=trail.name, NotificationConfiguration={})
    trail.put(log_key(3), log_body([caller_copy(3)]))
    trail.announce_eventbridge(log_key(3))
    trail.send(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}))

    metrics = _forward_in_process(trail)

    records = trail.records()
    assert sorted(json.loads(r.value)["eventID"] for r in records) == [
        caller_copy(n)["eventID"] for n in (1, 2, 3)
    ]
    # Keyed by the caller, as `produce` keys it: a group's per-caller windows stay whole.
    assert {r.key for r in records} == {
        f"{OUTSIDER}:AIDAOUTSIDER{n:08d}".encode() for n in (1, 2, 3)
    }
    assert {dict(r.headers)["source"] for r in records} == {
        f"s3://{trail.name}/{log_key(n)}".encode() for n in (1, 2, 3)
    }
    assert _count(metrics, "role_forwarder_objects_total", outcome="forwarded") == 3
    assert _count(metrics, "role_forwarder_objects_total", outcome="digest") == 1
    assert _count(metrics, "role_forwarder_objects_total", outcome="not_cloudtrail") == 1
    assert _count(metrics, "role_forwarder_records_total", outcome="out_of_scope") == 1
    # 5 objects, the EventBridge event and 3 test events (S3 sends one per configuration)
    assert _count(metrics, "role_forwarder_messages_total", outcome="deleted") == 8
    assert trail.waiting() == (0, 0)


@pytest.mark.usefixtures("aws_credentials")
def test_poison_object_and_notification_go_to_the_dead_letter_topic(trail: Trail) -> None:
    trail.notify_queue()
    trail.put(log_key(1), b"\x1f\x8b\x08\x00 not really gzip")
    trail.put(log_key(2), log_body([caller_copy(2)]))
    trail.send("<xml>not a notification</xml>")

    metrics = _forward_in_process(trail)

    letters = trail.dead_letters()
    reasons = sorted(dict(letter.headers)["reason"].decode() for letter in letters)
    assert reasons == ["bad_notification", "invalid_gzip"]
    poison = next(x for x in letters if dict(x.headers)["reason"] == b"invalid_gzip")
    assert dict(poison.headers)["source"] == f"s3://{trail.name}/{log_key(1)}".encode()
    assert [json.loads(r.value)["eventID"] for r in trail.records()] == [caller_copy(2)["eventID"]]
    assert _count(metrics, "role_forwarder_records_total", outcome="dead_lettered") == 2
    assert trail.waiting() == (0, 0)  # a poison object is handled, not retried for ever


# About 150 s on the shared 2-core machine, most of it inside moto (SQS and S3 calls).
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("aws_credentials")
def test_a_thousand_objects_arrive_in_order_on_each_partition(trail: Trail) -> None:
    objects = 1000
    # Uploaded in parallel (moto answers each call in tens of ms on a busy machine), then
    # announced in order as S3 would, ten notifications per SQS call.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: trail.put(log_key(n), log_body([caller_copy(2 * n),
                                                                 caller_copy(2 * n + 1)])),
                      range(objects)))  # fmt: skip
    for start in range(0, objects, 10):
        entries = [{"Id": str(n), "MessageBody": trail.s3_event(log_key(n))}
                   for n in range(start, start + 10)]  # fmt: skip
        trail.sqs.send_message_batch(QueueUrl=trail.queue_url, Entries=entries)

    metrics = _forward_in_process(trail)

    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in trail.records():
        by_partition[record.partition].append(int(json.loads(record.value)["eventID"][-12:]))
    seen = sorted(n for numbers in by_partition.values() for n in numbers)
    assert seen == list(range(2 * objects))  # every record once: nothing lost, nothing repeated
    assert len(by_partition) == 3
    for numbers in by_partition.values():
        assert numbers == sorted(numbers)
    assert _count(metrics, "role_forwarder_objects_total", outcome="forwarded") == objects
    assert _count(metrics, "role_forwarder_errors_total", stage="produce") == 0


def test_kill_9_mid_object_loses_nothing(trail: Trail) -> None:
    trail.notify_queue()
    size = 40_000  # 56 MB of JSON: seconds to produce, under limits.max_decompressed_bytes
    trail.put(log_key(0), log_body([caller_copy(n) for n in range(size)]))
    trail.put(log_key(1), log_body([caller_copy(size + 1)]))
    expected = {caller_copy(n)["eventID"] for n in [*range(size), size + 1]}

    # kill -9 half-way through the large object's records (deterministic, whatever the load)
    watcher = KafkaConsumer(trail.topic, bootstrap_servers=trail.bootstrap,
                            auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    first = trail.forward(visibility_timeout="3s", crash_at=f"forward_record:{size // 2}")
    try:
        wait_until(lambda: first.poll() is not None, 300, "the kill half-way", step=0.2)
    finally:
        watcher.close()
    assert first.returncode == -signal.SIGKILL, trail.log()[-3000:]
    assert sum(trail.waiting()) >= 1  # its message was not deleted

    second = trail.forward(visibility_timeout="3s")
    try:
        trail.wait_drained()
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, trail.log()[-3000:]
    finally:
        if second.poll() is None:
            second.kill()
    forwarded = [json.loads(r.value)["eventID"] for r in trail.records()]
    assert set(forwarded) == expected  # repeats allowed (run drops them), nothing missing


@pytest.mark.usefixtures("aws_credentials")
def test_messages_in_hand_stay_hidden_past_their_visibility_timeout(trail: Trail) -> None:
    from monitor.sources.sqs import KeepHidden

    trail.send("{}")
    queue = Queue(load_settings(trail.config()).forward)
    (message,) = queue.receive(1, 1, 2)
    extensions: list[float] = []
    with KeepHidden(queue, [message.receipt], 2, lambda: extensions.append(time.monotonic())):
        wait_until(lambda: len(extensions) >= 3, 30, "three extensions")  # 3 s past the first 2
        assert queue.receive(1, 0, 2) == []  # still hidden: no second forwarder gets it
    queue.hide([message.receipt], 0)
    assert [m.body for m in queue.receive(1, 1, 2)] == ["{}"]


def test_the_forwarder_serves_its_endpoints_and_metrics(trail: Trail) -> None:
    process = trail.forward()
    try:
        wait_until(lambda: '"serving /metrics' in trail.log() or process.poll() is not None, 60,
                   "the endpoints")  # fmt: skip
        assert process.poll() is None, trail.log()[-3000:]
        line = next(x for x in trail.log().splitlines() if '"serving /metrics' in x)
        port = json.loads(line)["fields"]["port"]
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(f"{base}/readyz") == 200, 30, "/readyz")
        assert _status(f"{base}/healthz") == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert 'role_forwarder_objects_total{outcome="forwarded"} 0.0' in text
        assert "role_forwarder_oldest_message_age_seconds 0.0" in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_missing_queue_is_a_one_line_error(trail: Trail) -> None:
    trail.sqs.delete_queue(QueueUrl=trail.queue_url)
    process = trail.forward()
    assert process.wait(timeout=60) == 2
    errors = [x for x in trail.log().splitlines() if x.startswith("role-monitor: error:")]
    assert len(errors) == 1 and "no such queue" in errors[0], trail.log()[-2000:]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status)
    except (urllib.error.URLError, OSError) as exc:
        return int(getattr(exc, "code", 0))
