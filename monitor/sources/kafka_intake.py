"""One Kafka message into the batch: pre-filter, pipeline, dead letters; never raises.

Kept apart from the consumer loop so the rules (what is skipped unparsed, what becomes a dead
letter, what a poison message costs) are plain functions, testable without a broker.
"""

from __future__ import annotations

import logging

from monitor.checkpoint import Batch, DeadLetter
from monitor.envelopes import Rejection
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline

log = logging.getLogger(__name__)

STS_MARKER = b"sts.amazonaws.com"

#: ``(topic, partition, offset)`` of a message.
Where = tuple[str, int, int]


def out_of_scope(value: bytes) -> bool:
    """Plain JSON without the STS event source cannot hold a role assumption: skip it unparsed.

    Most of a CloudTrail topic is other services' calls, so this saves a full parse per message.
    Gzip'd or base64 payloads never match (the marker is not visible in them) and are decoded,
    as is anything that is not JSON at all (so garbage still reaches the dead-letter topic).
    """
    head = value[:64].lstrip()[:1]
    return head in (b"{", b"[") and STS_MARKER not in value


class Intake:
    """Adds what one message yields to a :class:`Batch`."""

    def __init__(self, pipeline: Pipeline, metrics: Metrics) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self._skipped = metrics.records.labels("skipped")  # once: nine messages in ten

    def take(self, value: bytes, where: Where, batch: Batch, now: float) -> None:
        """Process one message and count it read, whatever happens to it."""
        if out_of_scope(value):
            self._skip()
        else:
            self._process(value, where, batch)
        batch.advance(*where, now=now)

    def _skip(self) -> None:
        """Counted as one skipped record: it was never parsed, so nobody knows how many."""
        stats = self.pipeline.stats
        stats.messages += 1
        stats.records += 1
        stats.skipped += 1
        self._skipped.inc()

    def _process(self, value: bytes, where: Where, batch: Batch) -> None:
        try:
            processed = self.pipeline.process(value)
        except Exception as exc:  # a poison message costs itself, never the service
            log.exception("processing a message failed", extra={"source_offset": where[2]})
            self._poison(value, where, exc, batch)
            return
        batch.findings.extend(processed.findings)
        batch.dead_letters.extend(
            DeadLetter.of(rejection, value, where) for rejection in processed.rejections
        )

    def _poison(self, value: bytes, where: Where, exc: Exception, batch: Batch) -> None:
        """The whole message becomes one ``processing_error`` dead letter.

        Findings of records processed before the failure are lost with it (their state writes
        stay); the pipeline already turns per-record failures into dead letters, so this only
        catches bugs in decoding itself.
        """
        rejection = Rejection("processing_error", f"{type(exc).__name__}: {exc}"[:500])
        self.pipeline.stats.rejected[rejection.reason] += 1
        self.metrics.records.labels("rejected").inc()
        self.metrics.dead_letters.labels(rejection.reason).inc()
        batch.dead_letters.append(DeadLetter.of(rejection, value, where))
