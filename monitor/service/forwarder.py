"""``role-monitor forward``: CloudTrail log objects announced on SQS → records on the Kafka topic.

One receive at a time: for each message, the objects it announces are read from S3 and their
in-scope records (the same :func:`monitor.intake.scope.in_scope` as ``run``) produced one per
Kafka message, keyed by its caller like ``role-monitor produce``
(:mod:`monitor.detect.produce_key`): a group's per-caller windows stay on one partition, and both
copies of a cross-account call land together. Unreadable pieces go to the dead
letter topic with their reason. Only when the broker acknowledged every record (and dead
letter) of a message's objects is the message deleted: a crash anywhere before that lets SQS
hand it out again, so a record may be produced twice (``run`` drops the repeat by its event id)
but never lost. Producing is idempotent and ordered, so records reach each partition in the
order the objects were handled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from monitor import crashpoints
from monitor.config.settings import Settings
from monitor.detect.produce_key import partition_key
from monitor.intake.envelopes import Rejection, decode
from monitor.intake.scope import in_scope
from monitor.service.checkpoint import MAX_DEAD_LETTER_BYTES
from monitor.service.forwarder_metrics import ForwarderMetrics
from monitor.sources.notifications import BadNotification, ObjectRef, announced
from monitor.sources.s3 import S3Object, S3Options, read_object, skip_reason
from monitor.sources.sqs import KeepHidden, Queue, QueueMessage

log = logging.getLogger("monitor.forward")

#: Waiting after a failed receive before the next one.
RECEIVE_BACKOFF_S = 2.0
#: /readyz turns 503 when no receive has succeeded for this long past the long-poll wait.
READY_SLACK_S = 60.0

Future = Any  # kafka-python's FutureRecordMetadata


class ObjectFailed(Exception):
    """An object could not be read or produced now; its message stays on the queue."""


@dataclass
class _InHand:
    """One message being handled: the sends to wait for before deleting it."""

    message: QueueMessage
    sends: list[Future] = field(default_factory=list)
    complete: bool = False


class Forwarder:
    def __init__(
        self,
        settings: Settings,
        queue: Queue,
        producer: Any,
        metrics: ForwarderMetrics,
    ) -> None:
        forward = settings.forward
        self.topic = forward.topic or settings.kafka.topics[0]
        self.dead_letter_topic = settings.kafka.dead_letter_topic
        self._queue = queue
        self._producer = producer
        self.metrics = metrics
        self._count = forward.max_messages
        self._wait_s = forward.wait_time.total_seconds()
        self._hidden_s = max(forward.visibility_timeout.total_seconds(), 1.0)
        self._shutdown_s = forward.shutdown_timeout.total_seconds()
        self._s3 = S3Options(
            settings.s3.endpoint_url,
            settings.s3.region,
            settings.s3.max_concurrency,
            settings.s3.max_attempts,
        )
        self._pool = ThreadPoolExecutor(settings.s3.max_concurrency, "s3-read")
        self._reads: dict[ObjectRef, Any] = {}
        self._stop = threading.Event()
        self._last_receive = 0.0

    def request_stop(self) -> None:
        self._stop.set()

    def ready(self) -> bool:
        """True while receives succeed (the queue answers); the producer connected at start."""
        return time.monotonic() - self._last_receive < self._wait_s + READY_SLACK_S

    def run(self, until_empty: bool = False) -> int:
        """Forward until stopped (or, with ``until_empty``, until a receive finds nothing)."""
        self._queue.check()
        self._last_receive = time.monotonic()
        while not self._stop.is_set():
            handled = self.step()
            if until_empty and handled == 0:
                break
        return 0

    def step(self) -> int:
        """One receive and its messages; returns how many messages came (-1: receive failed)."""
        try:
            messages = self._queue.receive(self._count, self._wait_s, self._hidden_s)
        except Exception as exc:
            self.metrics.errors.labels("receive").inc()
            log.error("cannot receive from the queue", extra={"error": _line(exc)})
            self._stop.wait(RECEIVE_BACKOFF_S)
            return -1
        self._last_receive = time.monotonic()
        oldest = min((m.sent_at for m in messages), default=None)
        self.metrics.oldest_age.set(max(time.time() - oldest, 0.0) if oldest else 0.0)
        if messages:
            self._handle_all(messages)
        return len(messages)

    def _handle_all(self, messages: list[QueueMessage]) -> None:
        receipts = [m.receipt for m in messages]
        extended = self.metrics.extensions.inc
        with KeepHidden(self._queue, receipts, self._hidden_s, extended):
            in_hand = [_InHand(m) for m in messages]
            self._reads = self._prefetch(messages)
            for item in in_hand:
                if self._stop.is_set():
                    break  # bounded shutdown: the rest goes back to the queue below
                item.complete = self._handle(item)
            timeout = self._shutdown_s if self._stop.is_set() else max(self._hidden_s / 2, 5.0)
            done = self._acknowledged(in_hand, timeout)
        self._reads.clear()
        self._settle(in_hand, done)

    def _prefetch(self, messages: list[QueueMessage]) -> dict[ObjectRef, Any]:
        """Starts reading every log object the messages announce, ``s3.max_concurrency`` at a
        time: S3's latency is paid once per receive, not once per object. Produced in order."""
        reads = {}
        for message in messages:
            try:
                refs = announced(message.body)
            except BadNotification:
                continue  # dead-lettered when its turn comes
            for ref in refs:
                if skip_reason(ref.key) is None and ref not in reads:
                    reads[ref] = self._pool.submit(read_object, self._object(ref))
        return reads

    def _object(self, ref: ObjectRef) -> S3Object:
        return S3Object("", ref.bucket, ref.key, self._s3)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _handle(self, item: _InHand) -> bool:
        """Sends what the message announces; False when something must be tried again."""
        try:
            refs = announced(item.message.body)
        except BadNotification as exc:
            self.metrics.messages.labels("bad_notification").inc()
            log.warning("unreadable notification dead-lettered", extra={"error": str(exc)})
            body = item.message.body.encode("utf-8", "replace")
            send = self._dead_letter("bad_notification", str(exc), body, "sqs")
            item.sends.extend([send] if send is not None else [])
            return True
        for ref in refs:
            try:
                item.sends.extend(self._forward(ref))
            except ObjectFailed as exc:
                self.metrics.objects.labels("failed").inc()
                log.error(
                    "object left on the queue for a retry",
                    extra={"object": str(ref), "error": str(exc)},
                )
                return False
        return True

    def _forward(self, ref: ObjectRef) -> list[Future]:
        reason = skip_reason(ref.key)
        if reason is not None:
            self.metrics.objects.labels(reason).inc()
            return []
        data = self._fetch(ref)
        if data is None:
            return []
        try:
            sends = [send for send in self._produce(ref, data) if send is not None]
        except Exception as exc:  # send() refused (buffer full, broker away past max_block)
            self.metrics.errors.labels("produce").inc()
            raise ObjectFailed(_line(exc)) from exc
        self.metrics.objects.labels("forwarded").inc()
        return sends

    def _fetch(self, ref: ObjectRef) -> bytes | None:
        """The object's bytes; None when it is gone for good (nothing left to forward)."""
        try:
            read = self._reads.get(ref)
            return read.result() if read is not None else read_object(self._object(ref))
        except Exception as exc:
            if "NoSuchKey" in _code(exc):
                self.metrics.objects.labels("missing").inc()
                log.warning("announced object no longer exists", extra={"object": str(ref)})
                return None
            self.metrics.errors.labels("fetch").inc()
            raise ObjectFailed(_line(exc)) from exc

    def _produce(self, ref: ObjectRef, data: bytes) -> Iterator[Future | None]:
        source = str(ref).encode()
        for piece in decode(data):
            if isinstance(piece, Rejection):
                payload = piece.payload or data
                yield self._dead_letter(piece.reason, piece.detail, payload, str(ref))
            elif in_scope(piece.data):
                self.metrics.records.labels("produced").inc()
                yield self._producer.send(
                    self.topic,
                    key=partition_key(piece),
                    value=orjson.dumps(piece.data),
                    headers=[("source", source)],
                )
                crashpoints.reached("forward_record")
            else:
                self.metrics.records.labels("out_of_scope").inc()

    def _dead_letter(self, reason: str, detail: str, payload: bytes, source: str) -> Future | None:
        self.metrics.records.labels("dead_lettered").inc()
        if self.dead_letter_topic is None:
            log.warning("dropping a dead letter: kafka.dead_letter_topic is not set",
                        extra={"reason": reason, "source": source})  # fmt: skip
            return None
        headers = [
            ("reason", reason.encode()),
            ("detail", detail.encode("utf-8", "replace")[:2048]),
            ("source", source.encode("utf-8", "replace")[:2048]),
        ]
        return self._producer.send(
            self.dead_letter_topic, value=payload[:MAX_DEAD_LETTER_BYTES], headers=headers
        )

    def _acknowledged(self, in_hand: list[_InHand], timeout: float) -> list[_InHand]:
        """The complete messages whose every send the broker acknowledged."""
        try:
            self._producer.flush(timeout=timeout)
        except Exception as exc:  # a timeout: what was acknowledged is still found below
            self.metrics.errors.labels("produce").inc()
            log.error("the broker did not acknowledge in time", extra={"error": _line(exc)})
        return [item for item in in_hand if item.complete and _all_acked(item.sends)]

    def _settle(self, in_hand: list[_InHand], done: list[_InHand]) -> None:
        """Delete what is safe; hand the rest out again (now when stopping, else after the
        visibility timeout, which spaces out retries of a failing object)."""
        deleted = {id(item) for item in done}
        rest = [item.message.receipt for item in in_hand if id(item) not in deleted]
        try:
            refused = self._queue.delete([item.message.receipt for item in done])
            if refused:
                self.metrics.errors.labels("delete").inc(refused)
            if rest and self._stop.is_set():
                self._queue.hide(rest, 0)
        except Exception as exc:  # not deleted: handed out again, records repeated, none lost
            self.metrics.errors.labels("delete").inc()
            log.error("cannot delete handled messages", extra={"error": _line(exc)})
            return
        self.metrics.messages.labels("deleted").inc(len(done) - refused)
        self.metrics.messages.labels("retried").inc(len(rest))


def _all_acked(sends: list[Future]) -> bool:
    return all(send.is_done and send.succeeded() for send in sends)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "")
    cause = exc.__cause__
    return _code(cause) if cause is not None else ""


def _line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
