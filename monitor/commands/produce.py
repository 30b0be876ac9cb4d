"""``role-monitor produce --config FILE [--topic T] PATH...``: load CloudTrail files into Kafka.

For backfills, demos and tests. By default every record found in the files (any envelope) is
sent as its own JSON message, keyed by its caller (:func:`partition_key`, docs/scaling.md):
every call of one principal lands in one partition, so the burst and many-roles windows of a
principal are whole in the one instance that owns it, however many share the topic; both
copies of a cross-account call name the caller by the same account and principal id, so they
land together too and that instance pages the pair once. With
``--as-envelope`` each file (or line of a ``.jsonl`` file) is sent as it is, raw bytes,
unkeyed: gzip'd log files, CloudWatch Logs payloads and broken input reach the consumer intact.
The count goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: ``role-monitor --help`` should not load them
    from kafka import KafkaProducer

    from monitor.config.settings import Settings
    from monitor.sources.files import Message

FLUSH_TIMEOUT_S = 60.0

Outgoing = tuple[bytes | None, bytes]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser("produce", help="send CloudTrail files to a Kafka topic")
    parser.add_argument("--config", help="YAML configuration file (the kafka section)")
    parser.add_argument("--topic", help="topic to write to (default: the first kafka.topics)")
    parser.add_argument(
        "--as-envelope",
        action="store_true",
        help="one message per file (or .jsonl line), raw bytes, instead of one per record",
    )
    parser.add_argument(
        "--shift-to-now",
        action="store_true",
        help="move event times so the newest record is now, gaps kept (demos: fresh findings)",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - (stdin)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from monitor.config.settings import ConfigError, load_settings
    from monitor.service.progress import Progress
    from monitor.sources.files import expand, read_messages

    settings = load_settings(args.config)
    topic = args.topic or settings.kafka.topics[0]
    try:
        sources = expand(args.paths)
    except FileNotFoundError as exc:
        raise ConfigError(f"no such file or folder: {exc.args[0]}") from exc
    if args.shift_to_now and args.as_envelope:
        raise ConfigError("--shift-to-now rewrites records; it cannot be used with --as-envelope")
    producer = _connect(settings)
    sent = failed = skipped = 0
    progress = Progress(len(sources), sys.stderr)
    try:
        futures = []
        held: list[Outgoing] = []  # --shift-to-now: sent once the newest time is known
        for source in sources:
            for message in read_messages(source):
                outgoing = [_raw(message)] if args.as_envelope else list(_records(message))
                skipped += 0 if outgoing else 1
                if args.shift_to_now:
                    held.extend(outgoing)
                    continue
                futures += [producer.send(topic, key=k, value=v) for k, v in outgoing]
            progress.advance(len(futures) + len(held))
        progress.close()
        futures += [producer.send(topic, key=k, value=v) for k, v in _shifted(held)]
        producer.flush(timeout=FLUSH_TIMEOUT_S)
        for future in futures:
            try:
                future.get(timeout=0)
                sent += 1
            except KafkaError:
                failed += 1
    finally:
        producer.close(timeout=5)
    _report(sys.stderr, topic, sent, failed, skipped)
    return 1 if failed else 0


def _connect(settings: Settings) -> KafkaProducer:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from monitor.config.settings import ConfigError
    from monitor.sources.kafka_client import producer_options

    try:
        options = producer_options(settings.kafka, settings.resolve)
        # A backfill may wait out a leader election; the service's short block is for shutdown.
        return KafkaProducer(**{**options, "max_block_ms": 30_000})
    except KafkaError as exc:
        servers = ",".join(settings.kafka.bootstrap_servers)
        raise ConfigError(f"cannot reach Kafka at {servers}: {exc}") from exc


def _raw(message: Message) -> Outgoing:
    return None, message.payload


def _records(message: Message) -> Iterator[Outgoing]:
    """Every readable record of one message as JSON; unreadable pieces are not sent."""
    import orjson

    from monitor.detect.produce_key import partition_key
    from monitor.intake.envelopes import Record, decode

    for decoded in decode(message.payload):
        if isinstance(decoded, Record):
            yield partition_key(decoded), orjson.dumps(decoded.data)


def _shifted(batch: list[Outgoing]) -> list[Outgoing]:
    import orjson

    from monitor.intake.retime import shift_to

    if not batch:
        return []
    records = shift_to([orjson.loads(value) for _, value in batch], datetime.now(UTC))
    return [(key, orjson.dumps(record)) for (key, _), record in zip(batch, records, strict=True)]


def _report(out: Any, topic: str, sent: int, failed: int, skipped: int) -> None:
    line = f"produced {sent} messages to {topic}"
    if failed:
        line += f", {failed} failed"
    if skipped:
        line += f" ({skipped} inputs held no readable record; use --as-envelope to send as is)"
    print(line, file=out)
