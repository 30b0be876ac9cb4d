"""A trail bucket, its notification queue and ``role-monitor forward`` for the forwarder tests.

Everything AWS is a real moto server over HTTP; the topic is on the real test broker. The
bucket's object-created notifications reach the queue the ways AWS delivers them: S3 → SQS
directly, S3 → SNS → SQS, or an EventBridge-shaped event (sent as EventBridge would).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import yaml
from kafka_service import ROLE_MONITOR, read_topic, wait_until

ORG_ID = "o-exampleorg"
ACCOUNT = "111122223333"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def log_key(n: int, account: str = ACCOUNT, day: str = "01") -> str:
    """Where an organisation trail delivers log file ``n`` (names ordered by ``n``)."""
    stamp = f"202611{day}T{n // 60 % 24:02d}{n % 60:02d}Z"
    name = f"{account}_CloudTrail_{REGION}_{stamp}_{n:06d}.json.gz"
    return f"AWSLogs/{ORG_ID}/{account}/CloudTrail/{REGION}/2026/11/{day}/{name}"


def log_body(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


@dataclass
class Trail:
    """One test's bucket and queue in moto, and the topics on the broker."""

    endpoint: str
    bootstrap: str
    folder: Path
    name: str = field(default_factory=lambda: f"trail-{uuid.uuid4().hex[:8]}")

    def __post_init__(self) -> None:
        self.s3 = self._client("s3")
        self.sqs = self._client("sqs")
        self.s3.create_bucket(Bucket=self.name)
        self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        self.topic = f"{self.name}-records"
        self.dead_letter_topic = f"{self.name}-dlq"

    def _client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **CREDENTIALS)

    @property
    def queue_arn(self) -> str:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )
        return str(attributes["Attributes"]["QueueArn"])

    def notify_queue(self) -> None:
        """S3 → SQS directly, as a bucket owner configures it."""
        config = {"QueueConfigurations": [
            {"QueueArn": self.queue_arn, "Events": ["s3:ObjectCreated:*"]}]}  # fmt: skip
        self.s3.put_bucket_notification_configuration(
            Bucket=self.name, NotificationConfiguration=config
        )

    def notify_through_sns(self) -> None:
        """S3 → SNS → SQS (raw message delivery off: the SNS envelope arrives)."""
        sns = self._client("sns")
        topic_arn = sns.create_topic(Name=f"{self.name}-sns")["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self.queue_arn)
        config = {"TopicConfigurations": [
            {"TopicArn": topic_arn, "Events": ["s3:ObjectCreated:*"]}]}  # fmt: skip
        self.s3.put_bucket_notification_configuration(
            Bucket=self.name, NotificationConfiguration=config
        )

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=body)

    def announce_eventbridge(self, key: str) -> None:
        """The event an EventBridge rule on ``Object Created`` puts on the queue."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "region": REGION,
            "detail": {"bucket": {"name": self.name}, "object": {"key": key, "size": 1}},
        }
        self.send(json.dumps(event))

    def s3_event(self, key: str) -> str:
        """The notification S3 sends the queue for a new object (the key URL-encoded)."""
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": self.name}, "object": {"key": quote_plus(key, safe="/")}},
        }
        return json.dumps({"Records": [record]})

    def send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def waiting(self) -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        return int(found["Attributes"][names[0]]), int(found["Attributes"][names[1]])

    def config(self, **forward: Any) -> Path:
        document = {
            "kafka": {
                "bootstrap_servers": self.bootstrap,
                "topics": [self.topic],
                "dead_letter_topic": self.dead_letter_topic,
            },
            "s3": {"endpoint_url": self.endpoint, "region": REGION},
            "forward": {
                "queue_url": self.queue_url,
                "endpoint_url": self.endpoint,
                "region": REGION,
                "wait_time": "1s",
                **forward,
            },
            "metrics": {"port": 0, "address": "127.0.0.1"},
            "log": {"level": "INFO", "format": "json"},
        }
        path = self.folder / f"forward-{self.name}.yaml"
        path.write_text(yaml.safe_dump(document))
        return path

    def forward(
        self, *args: str, crash_at: str | None = None, **forward: Any
    ) -> subprocess.Popen[bytes]:
        """``role-monitor forward`` as a child process, its log in the test folder;
        ``crash_at`` (``step:N``) makes it kill -9 itself there (:mod:`monitor.crashpoints`)."""
        crash = {"RM_CRASH_AT": crash_at} if crash_at else {}
        log = (self.folder / f"forward-{self.name}.log").open("ab")
        return subprocess.Popen(
            [str(ROLE_MONITOR), "forward", "--config", str(self.config(**forward)), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env={**aws_env(), **crash},
        )

    def forward_until_empty(self, **forward: Any) -> str:
        process = self.forward("--until-empty", **forward)
        code = process.wait(timeout=600)
        log = self.log()
        assert code == 0, log[-3000:]
        return log

    def log(self) -> str:
        return (self.folder / f"forward-{self.name}.log").read_text(errors="replace")

    def records(self) -> list[Any]:
        return read_topic(self.bootstrap, self.topic)

    def dead_letters(self) -> list[Any]:
        return read_topic(self.bootstrap, self.dead_letter_topic)

    def wait_drained(self, timeout: float = 120) -> None:
        wait_until(lambda: self.waiting() == (0, 0), timeout, "the queue to drain")


def aws_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        PYTHONUNBUFFERED="1",
    )
    return env
