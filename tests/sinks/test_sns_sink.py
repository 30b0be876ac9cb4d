"""The SNS sink against moto in server mode, read back through a real SQS subscription."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from plugins.sample_findings import hostile_finding, make_finding

from monitor.config.settings import Settings, SnsSinkConfig
from monitor.sinks.base import SinkError
from monitor.sinks.factory import build_sinks
from monitor.sinks.render import fingerprint
from monitor.sinks.sns import SnsSink, publish_arguments, subject

pytestmark = pytest.mark.aws

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials for moto; never the developer's real ones."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


@pytest.fixture
def subscribed_topic(moto_server: str) -> Iterator[tuple[str, str]]:
    """(topic ARN, queue URL): a new topic whose messages land in a new SQS queue."""
    sns, sqs = client("sns", moto_server), client("sqs", moto_server)
    name = f"role-monitor-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    yield topic_arn, queue_url
    sns.delete_topic(TopicArn=topic_arn)
    sqs.delete_queue(QueueUrl=queue_url)


def received(endpoint: str, queue_url: str, expected: int) -> list[dict[str, Any]]:
    """SNS envelopes from the queue, waiting until ``expected`` arrived."""
    sqs = client("sqs", endpoint)
    envelopes: list[dict[str, Any]] = []
    for _ in range(10):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        envelopes.extend(json.loads(m["Body"]) for m in answer.get("Messages", []))
        if len(envelopes) >= expected:
            break
    return envelopes


def test_findings_are_published_with_subject_and_attributes(
    moto_server: str, subscribed_topic: tuple[str, str]
) -> None:
    topic_arn, queue_url = subscribed_topic
    finding = make_finding()
    config = SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION)
    sink = SnsSink(config)
    sink.send([finding])
    sink.close()

    (envelope,) = received(moto_server, queue_url, 1)
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == (
        "[CRITICAL] Break-glass role BreakGlassAdmin (222222222222) assumed by bob without MFA"
    )
    assert json.loads(envelope["Message"]) == json.loads(finding.to_json())
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "severity": "critical",
        "detector": "break_glass_assumed",
        "fingerprint": fingerprint(finding),
    }


def test_hostile_finding_subject_is_ascii_one_line_and_short(
    moto_server: str, subscribed_topic: tuple[str, str]
) -> None:
    topic_arn, queue_url = subscribed_topic
    finding = hostile_finding(title="Ünïcode \u202e\n\r\x00 " + "long " * 100)
    config = SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION)
    SnsSink(config).send([finding])

    (envelope,) = received(moto_server, queue_url, 1)
    title = envelope["Subject"]
    assert len(title) < 100 and title.isascii() and title.isprintable()
    assert title.startswith("[CRITICAL] ?n?code ?")
    message = json.loads(envelope["Message"])
    assert len(message["user_agent"]) <= 1024
    assert len(envelope["Message"]) < 64 * 1024


def test_subject_of_plain_ascii_is_kept() -> None:
    assert subject(make_finding(title="short")) == "[CRITICAL] short"


def test_fifo_topic_gets_group_and_deduplication_ids(moto_server: str) -> None:
    sns = client("sns", moto_server)
    name = f"role-monitor-{uuid.uuid4().hex[:8]}.fifo"
    topic_arn = sns.create_topic(Name=name, Attributes={"FifoTopic": "true"})["TopicArn"]
    config = SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION)
    SnsSink(config).send([make_finding()])  # SNS refuses FIFO publishes without the ids
    sns.delete_topic(TopicArn=topic_arn)
    first, other = make_finding(), make_finding(assumption_id="another-call")
    ids = [publish_arguments(topic_arn, f)["MessageDeduplicationId"] for f in (first, other)]
    assert ids == [first.finding_id, other.finding_id], "one finding, one id; two, two"
    assert first.dedup_key == other.dedup_key, "a dedup key alone would drop the second"


def test_missing_topic_is_a_sink_error(moto_server: str) -> None:
    topic_arn = f"arn:aws:sns:{REGION}:123456789012:does-not-exist-{uuid.uuid4().hex[:8]}"
    config = SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION)
    with pytest.raises(SinkError, match="NotFound"):
        SnsSink(config).send([make_finding()])


def test_factory_builds_the_sns_sink(moto_server: str, subscribed_topic: tuple[str, str]) -> None:
    topic_arn, queue_url = subscribed_topic
    settings = Settings(
        alerts={"sns": {"topic_arn": topic_arn, "endpoint_url": moto_server, "region": REGION}}
    )
    (sink,) = build_sinks(settings)
    assert sink.name == "sns"
    sink.send([make_finding()])
    assert len(received(moto_server, queue_url, 1)) == 1


class EveryFifthThrottled:
    """The real SNS client (moto), throttled on every fifth publish as SNS may do under load."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def publish(self, **arguments: Any) -> Any:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls % 5 == 0:
            error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}
            raise ClientError(error, "Publish")  # type: ignore[arg-type]
        return self.real.publish(**arguments)

    def close(self) -> None:
        self.real.close()


def test_a_throttled_batch_publishes_each_finding_once(
    moto_server: str, subscribed_topic: tuple[str, str]
) -> None:
    """Issue 12, point 4 for SNS: the batch is retried whole; what SNS took is not resent."""
    from monitor.metrics import Metrics
    from monitor.sinks.delivery import Delivery, DeliveryFailed
    from monitor.state.store import StateStore

    topic_arn, queue_url = subscribed_topic
    config = SnsSinkConfig(topic_arn=topic_arn, endpoint_url=moto_server, region=REGION)
    sink = SnsSink(config, client=EveryFifthThrottled(client("sns", moto_server)))
    findings = [make_finding(dedup_key=f"k{n}", event_id=f"e{n}") for n in range(20)]
    delivery = Delivery([sink], StateStore(":memory:"), Metrics())
    for _attempt in range(20):
        try:
            delivery.deliver(findings)
            break
        except DeliveryFailed:
            continue
    sink.close()
    envelopes = received(moto_server, queue_url, 20)
    more = client("sqs", moto_server).receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    envelopes += [json.loads(m["Body"]) for m in more.get("Messages", [])]  # a repeat, if any
    events = [json.loads(e["Message"])["event_id"] for e in envelopes]
    assert sorted(events) == sorted(f"e{n}" for n in range(20))
