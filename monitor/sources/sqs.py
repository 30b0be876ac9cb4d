"""An SQS queue of S3 notifications, as the forwarder needs it: receive, keep hidden, delete.

A received message stays hidden for the visibility timeout; :class:`KeepHidden` extends it
every half of that while the message's objects are in hand, so a large object is never handed
to a second forwarder meanwhile, and a forwarder killed mid-object lets it reappear within one
timeout. Deleting is the only acknowledgement, and the caller does it last.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config.settings import ConfigError, ForwardConfig

log = logging.getLogger(__name__)

#: SQS takes at most 10 entries per batch call.
BATCH = 10
_ERRORS = {
    "AWS.SimpleQueueService.NonExistentQueue": "no such queue",
    "QueueDoesNotExist": "no such queue",
    "AccessDenied": "access denied",
    "InvalidClientTokenId": "invalid AWS credentials",
    "SignatureDoesNotMatch": "invalid AWS credentials",
}


@dataclass(frozen=True, slots=True)
class QueueMessage:
    body: str
    receipt: str
    #: When SQS accepted it (seconds since the epoch): the forwarder's lag.
    sent_at: float


class Queue:
    """One queue URL and its client."""

    def __init__(self, config: ForwardConfig, client: Any = None) -> None:
        if not config.queue_url:
            raise ConfigError("forward.queue_url is not set (the SQS queue to follow)")
        self.url = config.queue_url
        self._client = client or _client(config)

    def check(self) -> int:
        """Messages waiting (approximately); a missing queue or access is a ConfigError."""
        try:
            answer = self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
            )
        except Exception as exc:
            raise one_line(exc, self.url) from exc
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def receive(self, count: int, wait_s: float, hidden_s: float) -> list[QueueMessage]:
        answer = self._client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=int(wait_s),
            VisibilityTimeout=int(hidden_s),
            MessageSystemAttributeNames=["SentTimestamp"],
        )
        return [_message(entry) for entry in answer.get("Messages", ())]

    def delete(self, receipts: Sequence[str]) -> int:
        """Deletes; returns how many SQS refused (they come back: at least once)."""
        return self._batch("delete_message_batch", receipts, {})

    def hide(self, receipts: Sequence[str], seconds: float) -> int:
        """Sets the visibility timeout of messages in hand (0: hand them out again now)."""
        return self._batch(
            "change_message_visibility_batch", receipts, {"VisibilityTimeout": int(seconds)}
        )

    def _batch(self, call: str, receipts: Sequence[str], extra: dict[str, Any]) -> int:
        failed = 0
        for start in range(0, len(receipts), BATCH):
            chunk = receipts[start : start + BATCH]
            entries = [{"Id": str(n), "ReceiptHandle": r, **extra} for n, r in enumerate(chunk)]
            answer = getattr(self._client, call)(QueueUrl=self.url, Entries=entries)
            failed += len(answer.get("Failed", ()))
        return failed


class KeepHidden:
    """While in a ``with`` block, extends the visibility of ``receipts`` every half timeout."""

    def __init__(
        self,
        queue: Queue,
        receipts: Sequence[str],
        hidden_s: float,
        on_extend: Callable[[], object] = lambda: None,
    ) -> None:
        self._queue = queue
        self._receipts = list(receipts)
        self._hidden_s = hidden_s
        self._on_extend = on_extend
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-keep-hidden", daemon=True)

    def __enter__(self) -> KeepHidden:
        if self._receipts:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        period = max(self._hidden_s / 2, 0.5)
        while not self._done.wait(period):
            try:
                self._queue.hide(self._receipts, self._hidden_s)
                self._on_extend()
            except Exception as exc:  # the next period tries again; at worst a repeat
                log.warning("cannot extend the visibility timeout", extra={"error": str(exc)})


def one_line(exc: Exception, where: str) -> Exception:
    """A ConfigError naming the queue for what a user must fix; anything else as it came."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if code in _ERRORS:
        return ConfigError(f"{where}: {_ERRORS[code]} ({code})")
    if type(exc).__name__ in ("NoCredentialsError", "EndpointConnectionError", "NoRegionError"):
        return ConfigError(f"{where}: {exc}")
    return exc


def _message(entry: dict[str, Any]) -> QueueMessage:
    sent_ms = entry.get("Attributes", {}).get("SentTimestamp")
    sent = int(sent_ms) / 1000 if sent_ms else time.time()
    return QueueMessage(str(entry.get("Body", "")), str(entry["ReceiptHandle"]), sent)


def _client(config: ForwardConfig) -> Any:
    import boto3
    from botocore.config import Config

    # Long polls of up to 20 s must not hit botocore's 60 s read timeout, nor retry forever.
    options = Config(retries={"mode": "standard", "total_max_attempts": 5}, read_timeout=30)
    return boto3.client(
        "sqs", endpoint_url=config.endpoint_url, region_name=config.region, config=options
    )
