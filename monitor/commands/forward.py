"""``role-monitor forward --config FILE``: follow the trail bucket's S3 notifications on SQS and
produce each new CloudTrail log object's in-scope records to the Kafka topic ``run`` reads.

The queue (``forward.queue_url``) receives the bucket's object-created notifications: sent
directly, through SNS or through an EventBridge rule. A message is deleted only once the broker
acknowledged every record of its objects (at least once: a crash repeats records, never loses
them). Digest and non-CloudTrail objects are skipped and counted; unreadable objects go to
``kafka.dead_letter_topic``. ``/metrics``, ``/healthz`` and ``/readyz`` are served as by ``run``.
SIGTERM or SIGINT stops after the objects in hand (at most ``forward.shutdown_timeout``).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kafka import KafkaProducer

    from monitor.config.settings import Settings

log = logging.getLogger("monitor.forward")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "forward", help="move CloudTrail log objects announced on SQS into the Kafka topic"
    )
    parser.add_argument("--config", help="YAML configuration file (kafka, s3, forward)")
    parser.add_argument(
        "--until-empty",
        action="store_true",
        help="stop at the first receive that finds the queue empty (backfills, tests)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from monitor import __version__
    from monitor.commands.run import _start_metrics, _stop_on_signals
    from monitor.config.settings import load_settings
    from monitor.intake.bounds import Limits, set_limits
    from monitor.service.forwarder import Forwarder
    from monitor.service.forwarder_metrics import ForwarderMetrics
    from monitor.service.logs import effective_config, setup_logging
    from monitor.sources.sqs import Queue

    settings = load_settings(args.config)
    setup_logging(settings.log.level, settings.log.format)
    log.info(
        "role-monitor forward starting",
        extra={"version": __version__, "config": effective_config(settings)},
    )
    set_limits(Limits(**settings.limits.model_dump()))  # every limit, as run applies them
    queue = Queue(settings.forward)
    producer = _connect(settings)
    forwarder = Forwarder(settings, queue, producer, ForwarderMetrics())
    server = None
    try:
        server = _start_metrics(settings, forwarder.metrics, forwarder.ready)
        with _stop_on_signals(forwarder.request_stop):
            return forwarder.run(until_empty=args.until_empty)
    finally:
        if server is not None:
            server.close()
        forwarder.close()
        producer.close(timeout=5)
        log.info("role-monitor forward stopped")


def _connect(settings: Settings) -> KafkaProducer:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from monitor.config.settings import ConfigError
    from monitor.sources.kafka_client import producer_options

    try:
        options = producer_options(settings.kafka, settings.resolve)
        # Idempotent and ordered: a retried batch is neither repeated nor overtaken.
        return KafkaProducer(**options, enable_idempotence=True)
    except KafkaError as exc:
        servers = ",".join(settings.kafka.bootstrap_servers)
        raise ConfigError(f"cannot reach Kafka at {servers}: {exc}") from exc
