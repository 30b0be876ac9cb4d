"""Findings produced to a Kafka alerts topic: key = the finding's id, value = its JSON.

Keyed by ``Finding.finding_id`` (also in a ``finding_id`` header, with the ``dedup_key``): a
record produced again (the chunk in flight when the process died, resent from the outbox at
restart) has the same key, so a compacted topic or a consumer keeping one record per key sees
each finding once. ``acks=all`` with an idempotent producer: no duplicate from the producer's
own retries, and :meth:`flush` returns only when every record is on all in-sync replicas.

Sends are asynchronous; failures surface at :meth:`flush`, which raises :class:`SinkError`;
the outbox then sends the chunk again later. Connecting is lazy, so a broker that is down at
start-up back-pressures like any other outage instead of crashing the process.
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
from monitor.sinks.base import SinkError
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
    return finding.finding_id.encode(), value


def headers(finding: Finding) -> list[tuple[str, bytes]]:
    return [
        ("finding_id", finding.finding_id.encode()),
        ("dedup_key", finding.dedup_key.encode("utf-8", "surrogatepass")[:1024]),
    ]


class KafkaSink:
    name = "kafka"
    #: Records keyed by finding id: a chunk produced again after a crash is deduplicable by
    #: key, so chunks may be large (one flush waits for the whole chunk's acknowledgements).
    batch = 100

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
        self._inflight: list[Any] = []

    def send(self, findings: Sequence[Finding]) -> None:
        """Hand the findings to the producer (acknowledged at :meth:`flush`)."""
        for finding in findings:
            key, value = record(finding, self.runbook_base)
            try:
                future = self._connected().send(
                    self.topic, key=key, value=value, headers=headers(finding)
                )
            except KafkaError as exc:
                self._inflight.clear()
                raise SinkError(f"kafka topic {self.topic}: cannot produce: {exc}") from exc
            self._inflight.append(future)

    def flush(self) -> None:
        """Wait for every acknowledgement; :class:`SinkError` if any record is not on the broker
        (the caller sends the chunk again: the records that did get through repeat their key)."""
        if not self._inflight:
            return
        inflight, self._inflight = self._inflight, []
        try:
            self._connected().flush(timeout=self._flush_timeout)
        except KafkaError as exc:
            log.warning("kafka flush did not complete: %s", exc)
        failed = [f for f in inflight if not f.is_done or f.failed()]
        if failed:
            reason = next((f.exception for f in failed if f.is_done), None) or "not acknowledged"
            raise SinkError(
                f"kafka topic {self.topic}: {len(failed)} alerts not acknowledged ({reason})"
            )

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
