"""One Kafka message into the batch: pipeline, dead letters; never raises.

Kept apart from the consumer loop so the rules (what becomes a dead letter, what a poison
message costs) are plain functions, testable without a broker. What is skipped unparsed is not
decided here: :meth:`monitor.detect.pipeline.Pipeline.process` asks :mod:`monitor.intake.scope`,
for ``run`` and ``replay`` alike, so both decide identically on every message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from monitor.detect.pipeline import Pipeline
from monitor.intake.envelopes import Rejection, one_rejection
from monitor.metrics import Metrics
from monitor.service.checkpoint import Batch, DeadLetter
from monitor.state.errors import StateUnavailable

log = logging.getLogger(__name__)

#: ``(topic, partition, offset)`` of a message.
Where = tuple[str, int, int]


class Intake:
    """Adds what one message yields to a :class:`Batch`."""

    def __init__(self, pipeline: Pipeline, metrics: Metrics) -> None:
        self.pipeline = pipeline
        self.metrics = metrics

    def take(self, value: bytes, where: Where, batch: Batch, now: float) -> None:
        """Process one message and count it read, whatever happens to it."""
        self._process(value, where, batch)
        batch.advance(*where, now=now)

    def _process(self, value: bytes, where: Where, batch: Batch) -> None:
        self.pipeline.marks.source = where[:2]  # the clock follows each partition's own mark
        try:
            processed = self.pipeline.process(value)
        except StateUnavailable:
            raise  # the shared state is away, not the message's fault: it is read again
        except Exception as exc:  # a poison message costs itself, never the service
            log.exception("processing a message failed", extra={"source_offset": where[2]})
            self._poison(value, where, exc, batch)
            return
        batch.findings.extend(processed.findings)
        if processed.rejections:
            batch.dead_letters.append(one_dead_letter(processed.rejections, value, where))

    def _poison(self, value: bytes, where: Where, exc: Exception, batch: Batch) -> None:
        """The whole message becomes one ``processing_error`` dead letter.

        Findings of records processed before the failure are lost with it (their state writes
        stay); the pipeline already turns per-record failures into dead letters, so this only
        catches bugs in decoding itself.
        """
        rejection = Rejection("processing_error", f"{type(exc).__name__}: {exc}"[:500])
        rejected: list[Rejection] = []
        self.pipeline.reject(rejection, rejected, record=False)
        batch.dead_letters.append(one_dead_letter(rejected, value, where))


def one_dead_letter(rejections: Sequence[Rejection], message: bytes, where: Where) -> DeadLetter:
    """Every rejection of one message as one dead letter (see ``envelopes.one_rejection``)."""
    return DeadLetter.of(one_rejection(rejections, message), message, where)
