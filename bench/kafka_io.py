"""The broker, loading topics, the bare-consumer floor and committed-offset polling.

The broker is ``scripts/kafka-local`` in a temp dir of its own (or ``KAFKA_BOOTSTRAP``): the
bench must run anywhere ``make test`` runs, and it must never share a broker's page cache or
log segments with a demo broker running next to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "kafka-local"
PARTITIONS = 3

#: Fetch settings shared by the floor consumer and the monitor (kafka-python's defaults,
#: spelled out so the two sides provably read the same way).
FETCH = {"fetch_max_bytes": 52_428_800, "max_partition_fetch_bytes": 1_048_576}


@contextmanager
def broker(workdir: Path) -> Iterator[str]:
    """The bootstrap address of ``KAFKA_BOOTSTRAP`` or of a fresh broker stopped afterwards."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    state = Path(tempfile.mkdtemp(prefix="kafka-", dir=workdir))
    started = subprocess.run(
        [str(SCRIPT), "--dir", str(state), "start", "--owner-pid", str(os.getpid())],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"scripts/kafka-local start failed:\n{started.stderr}")
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(
            [str(SCRIPT), "--dir", str(state), "stop"], capture_output=True, timeout=60, check=False
        )


def create_topic(bootstrap: str, name: str, partitions: int = PARTITIONS) -> str:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
    try:
        admin.create_topics(
            {name: {"num_partitions": partitions, "replication_factor": 1}},
            wait_for_metadata=True,
        )
    finally:
        admin.close()
    return name


def producer(bootstrap: str, **options: Any) -> KafkaProducer:
    """Batching for bulk loads; ``linger_ms=0`` for the latency run."""
    settings: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": 1,
        "linger_ms": 50,
        "batch_size": 512 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "client_id": "bench-producer",
    }
    settings.update(options)
    return KafkaProducer(**settings)


class Loader:
    """Sends ``(key, value)`` pairs as fast as possible; every acknowledgement by :meth:`close`.

    Through ``bench/Loader.java`` on the broker's own client jars when Java is there (the
    kafka-python producer computes CRC32C in pure Python and manages ~7k records/s here), else
    through kafka-python. Only loading uses Java: every measured consumer is kafka-python.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.sent = 0
        self.bytes = 0
        self._java: subprocess.Popen[bytes] | None = None
        self._producer: KafkaProducer | None = None
        libs = _client_jars()
        if libs is not None:
            self._java = subprocess.Popen(
                ["java", "-cp", f"{libs}/*", str(JAVA_LOADER), bootstrap, topic],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        else:
            self._producer = producer(bootstrap)

    def send(self, key: bytes | None, value: bytes) -> None:
        if self._java is not None:
            assert self._java.stdin is not None
            self._java.stdin.write((key or b"") + b"\t" + value + b"\n")
        else:
            assert self._producer is not None
            self._producer.send(self.topic, key=key, value=value)
        self.sent += 1
        self.bytes += len(value)

    def close(self) -> None:
        if self._java is not None:
            out, _ = self._java.communicate(timeout=600)
            acknowledged = int(out.decode().strip() or -1)
            if self._java.returncode != 0 or acknowledged != self.sent:
                raise RuntimeError(f"bench loader sent {acknowledged} of {self.sent} records")
        if self._producer is not None:
            self._producer.flush(timeout=300)
            self._producer.close(timeout=10)


JAVA_LOADER = Path(__file__).resolve().parent / "Loader.java"


def _client_jars() -> str | None:
    """The folder of Kafka's jars (``scripts/kafka-local fetch``), or None without Java."""
    if shutil.which("java") is None:
        return None
    fetched = subprocess.run(
        [str(SCRIPT), "fetch"], capture_output=True, text=True, timeout=600, check=False
    )
    if fetched.returncode != 0:
        return None
    return fetched.stdout.strip().splitlines()[-1]


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-offsets")
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


@dataclass(frozen=True)
class Timed:
    records: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def floor(bootstrap: str, topic: str, max_poll_records: int, check_crcs: bool = True) -> Timed:
    """A bare kafka-python consumer reading ``topic`` from the beginning to its end offsets.

    No group (assigned partitions), nothing done per record but touching its value: the most
    any consumer built on this client can do on this machine. Timed from the first poll.
    ``check_crcs`` on as in the monitor (kafka-python's default) unless told otherwise.
    """
    ends = end_offsets(bootstrap, topic)
    total = sum(ends.values())
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="bench-floor",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_poll_records,
        check_crcs=check_crcs,
        **FETCH,
    )
    try:
        parts = [TopicPartition(topic, p) for p in ends]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        count = size = 0
        started = time.perf_counter()
        while count < total:
            for messages in consumer.poll(timeout_ms=500).values():
                count += len(messages)
                for message in messages:
                    size += len(message.value)
        return Timed(count, time.perf_counter() - started)
    finally:
        consumer.close()


class Offsets:
    """Committed offsets of a consumer group, read the way an operator's lag tool would."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-lag")

    def committed(self, group: str, topic: str) -> int:
        """Sum of the group's committed offsets over ``topic`` (0 when none)."""
        try:
            found = self.admin.list_group_offsets(group).get(group, {})
        except KafkaError:  # e.g. the coordinator of a brand-new group is not there yet
            return 0
        return sum(
            meta.offset for tp, meta in found.items() if tp.topic == topic and meta.offset > 0
        )

    def close(self) -> None:
        self.admin.close()


def crc_in_c() -> bool:
    """Whether kafka-python found the optional ``crc32c`` C extension (else pure Python)."""
    from kafka.record import util

    return util.crc32c_c is not None
