"""Findings published to an SNS topic: JSON message, short ASCII subject, filterable attributes.

Subscribers filter on the ``severity`` and ``detector`` message attributes (e.g. only critical
findings to SMS). The subject reaches e-mail subscribers, so it is ASCII, one line and under
SNS's 100-character limit. botocore's "standard" retry mode does the short, jittered retries
of throttling and 5xx; what still fails becomes :class:`SinkError` and back-pressures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import boto3
import orjson
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from monitor.config.settings import SnsSinkConfig
from monitor.findings import Finding
from monitor.sinks.base import Accepted, SinkError
from monitor.sinks.render import finding_document, fingerprint, runbook_url
from monitor.sinks.retry import Deadline

SUBJECT_LIMIT = 99
_NOT_SUBJECT_SAFE = re.compile(r"[^\x20-\x7e]+")


def subject(finding: Finding) -> str:
    """``[SEVERITY] title``: printable ASCII only, one line, < 100 characters."""
    raw = f"[{finding.severity.value.upper()}] {finding.title}"
    text = " ".join(_NOT_SUBJECT_SAFE.sub("?", raw).split())
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def publish_arguments(
    topic_arn: str, finding: Finding, runbook_base: str | None = None
) -> dict[str, Any]:
    """Keyword arguments of ``sns.publish`` for one finding."""
    runbook = runbook_url(runbook_base, finding.detector)
    message = {**finding_document(finding), **({"runbook_url": runbook} if runbook else {})}
    arguments: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Subject": subject(finding),
        "Message": orjson.dumps(message).decode(),
        "MessageAttributes": {
            "severity": {"DataType": "String", "StringValue": finding.severity.value},
            "detector": {"DataType": "String", "StringValue": finding.detector},
            "fingerprint": {"DataType": "String", "StringValue": fingerprint(finding)},
        },
    }
    if topic_arn.endswith(".fifo"):
        # A resend (after a restart) within SNS's 5-minute window is dropped by SNS itself.
        arguments["MessageGroupId"] = finding.detector
        arguments["MessageDeduplicationId"] = fingerprint(finding)
    return arguments


class SnsSink:
    name = "sns"
    #: Notifies people: gets one page per event (see monitor.sinks.pages).
    pages = True

    def __init__(
        self,
        config: SnsSinkConfig,
        client: Any | None = None,
        runbook_base: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.topic_arn = config.topic_arn
        self.runbook_base = runbook_base
        self.accepted = Accepted()
        self._timeout = timeout
        self._client = client or boto3.client(
            "sns",
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            config=Config(
                # Three attempts fit in one call's deadline (alerts.call_timeout).
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=min(5.0, timeout / 3),
                read_timeout=timeout / 3,
            ),
        )

    def send(self, findings: Sequence[Finding]) -> None:
        """One publish per finding; each acknowledged one is remembered (not published again)."""
        deadline = Deadline(self._timeout)
        for finding in self.accepted.new(findings):
            deadline.left(self.name)  # the call's deadline: the rest waits for the next one
            try:
                self._client.publish(
                    **publish_arguments(self.topic_arn, finding, self.runbook_base)
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "?")
                raise SinkError(f"SNS publish to {self.topic_arn} failed: {code}") from exc
            except BotoCoreError as exc:
                raise SinkError(f"SNS publish to {self.topic_arn} failed: {exc}") from exc
            self.accepted.add(finding)

    def flush(self) -> None:
        """Nothing buffered: each publish is acknowledged before :meth:`send` returns."""

    def close(self) -> None:
        self._client.close()
