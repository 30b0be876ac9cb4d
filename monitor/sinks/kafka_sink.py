"""Findings produced to a Kafka alerts topic: key = dedup key, value = the finding's JSON.

Keying by dedup key sends repeats of one finding to one partition, in order, so a compacted
topic or a consumer keeping the latest per key sees each finding once. ``acks=all`` with an
idempotent producer: :meth:`flush` returns only when every record is on all in-sync replicas.

Sends are asynchronous; failures surface at :meth:`flush` (the checkpoint). A record that
failed is kept and produced again at the next :meth:`flush`, because the caller retries the
flush, not the send: dropping it would lose the alert. Connecting is lazy, so a broker that is
down at start-up back-pressures like any other outage instead of crashing the process.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from monitor.config.settings import KafkaConfig
from monitor.findings import Finding
from monitor.sinks.base import Accepted, SinkError, finding_key
from monitor.sinks.render import finding_document, with_runbook

log = logging.getLogger(__name__)

#: Above this the bounded rendering is produced instead (the broker's default limit is 1 MiB).
VALUE_LIMIT = 512 * 1024
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "compression_type": "gzip",
    # Fail a record within the checkpoint's patience rather than after 2 minutes.
    "delivery_timeout_ms": 30_000,
    "request_timeout_ms": 10_000,
    "max_block_ms": 10_000,
    # A broker that is down at the first send fails that send in 10 s, not 30 s.
    "bootstrap_timeout_ms": 10_000,
}

Record = tuple[bytes, bytes]
#: A record and the key of the finding it carries (see sinks.base.finding_key).
Item = tuple[Record, str]


def client_options(
    kafka: KafkaConfig, resolve: Callable[[Path], Path] | None = None
) -> dict[str, Any]:
    """Connection and security options shared with the consumer.

    ``monitor.sources.kafka_client.client_options`` (TLS, SASL, MSK IAM; ``resolve`` makes
    relative certificate paths absolute) when that module is present; otherwise only the
    bootstrap servers and client id, i.e. plaintext brokers.
    """
    try:
        module = importlib.import_module("monitor.sources.kafka_client")
    except ModuleNotFoundError as exc:
        if exc.name != "monitor.sources.kafka_client":
            raise
        return {"bootstrap_servers": list(kafka.bootstrap_servers), "client_id": kafka.client_id}
    options: dict[str, Any] = dict(module.client_options(kafka, resolve))
    return options


def record(finding: Finding, runbook_base: str | None = None) -> Record:
    """(key, value) for one finding; ``runbook_url`` added when a runbook base is set."""
    value = finding.to_json()
    if len(value) > VALUE_LIMIT:
        import orjson

        value = orjson.dumps(finding_document(finding), option=orjson.OPT_SORT_KEYS)
    value = with_runbook(value, runbook_base, finding.detector)
    return finding.dedup_key.encode("utf-8", "surrogatepass"), value


class KafkaSink:
    name = "kafka"

    def __init__(
        self,
        topic: str,
        options: dict[str, Any],
        *,
        flush_timeout: float = 30.0,
        producer_factory: Callable[..., Any] = KafkaProducer,
        runbook_base: str | None = None,
    ) -> None:
        self.topic = topic
        self.runbook_base = runbook_base
        known = set(KafkaProducer.DEFAULT_CONFIG)
        self._options = {k: v for k, v in {**PRODUCER_DEFAULTS, **options}.items() if k in known}
        self._flush_timeout = flush_timeout
        self._factory = producer_factory
        self._producer: Any | None = None
        #: Records handed to the producer and not yet acknowledged.
        self._inflight: list[tuple[Item, Any]] = []
        #: Records the broker did not take; produced again at the next flush.
        self._failed: list[Item] = []
        #: Findings acknowledged by the broker: a retried batch does not produce them again.
        self.accepted = Accepted()

    def send(self, findings: Sequence[Finding]) -> None:
        """Queue findings neither acknowledged nor already queued (in flight or to retry)."""
        queued = {key for (_, key), _ in self._inflight} | {key for _, key in self._failed}
        for finding in self.accepted.new(findings):
            key = finding_key(finding)
            if key not in queued:
                self._submit((record(finding, self.runbook_base), key))

    def flush(self) -> None:
        """Wait for every acknowledgement; :class:`SinkError` if any record is not on the broker."""
        retry, self._failed = self._failed, []
        for position, item in enumerate(retry):
            try:
                self._submit(item)
            except SinkError:
                self._failed = retry[position:]
                raise
        if not self._inflight:
            return
        try:
            self._connected().flush(timeout=self._flush_timeout)
        except KafkaError as exc:
            log.warning("kafka flush did not complete: %s", exc)
        self._settle()

    def _settle(self) -> None:
        """Drop acknowledged records, keep failed ones for the next flush, raise if any remain."""
        pending: list[tuple[Item, Any]] = []
        first_error: Exception | None = None
        for item, future in self._inflight:
            if not future.is_done:
                pending.append((item, future))
            elif future.failed():
                self._failed.append(item)
                first_error = first_error or future.exception
            else:
                self.accepted.add_key(item[1])
        self._inflight = pending
        if self._failed or pending:
            reason = first_error or f"{len(pending)} records still unacknowledged"
            raise SinkError(
                f"kafka topic {self.topic}: {len(self._failed) + len(pending)} alerts "
                f"not acknowledged ({reason})"
            )

    def _submit(self, item: Item) -> None:
        (key, value), _ = item
        try:
            future = self._connected().send(self.topic, key=key, value=value)
        except KafkaError as exc:
            raise SinkError(f"kafka topic {self.topic}: cannot produce: {exc}") from exc
        self._inflight.append((item, future))

    def _connected(self) -> Any:
        if self._producer is None:
            try:
                self._producer = self._factory(**self._options)
            except KafkaError as exc:
                raise SinkError(f"kafka: cannot connect to the brokers: {exc}") from exc
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=self._flush_timeout)
            self._producer = None
