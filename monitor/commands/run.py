"""``role-monitor run --config FILE``: the long-running Kafka consumer (see ``kafka_consumer``).

Logs go to stderr (JSON lines unless stderr is a terminal); findings go to the configured
sinks; ``/metrics``, ``/healthz`` and ``/readyz`` are served on ``metrics.address:metrics.port``
unless the port is null. SIGTERM or SIGINT stops the service gracefully (exit status 0).
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: ``role-monitor --help`` should not load them
    from monitor.config.settings import Settings
    from monitor.service.http import Exposed

log = logging.getLogger("monitor.run")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "run", help="consume CloudTrail from Kafka and deliver findings to the alert sinks"
    )
    parser.add_argument("--config", help="YAML configuration file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from monitor import __version__
    from monitor.commands.config_cmd import run_warnings
    from monitor.config.settings import ConfigError, load_settings
    from monitor.service.app import build_monitor
    from monitor.service.collector import fewer_collections
    from monitor.service.kafka_service import KafkaService
    from monitor.service.logs import effective_config, setup_logging
    from monitor.sinks.delivery import Delivery
    from monitor.sinks.factory import build_sinks

    settings = load_settings(args.config)
    setup_logging(settings.log.level, settings.log.format)
    log.info(
        "role-monitor run starting",
        extra={"version": __version__, "config": effective_config(settings)},
    )
    for warning in run_warnings(settings):  # said once at start, not discovered at a restart
        log.warning(warning)
    monitor = build_monitor(settings)
    try:
        sinks = build_sinks(settings, monitor.metrics)
    except OSError as exc:
        monitor.close()
        raise ConfigError(f"cannot open an alert sink: {exc}") from exc
    monitor.metrics.initialise([], [sink.name for sink in sinks])
    delivery = Delivery(sinks, monitor.state, monitor.metrics)
    service = KafkaService(settings, monitor, delivery, watchdog=True)
    server = None
    try:
        server = _start_metrics(settings, monitor.metrics, service.ready)
        with _stop_on_signals(service.request_stop), fewer_collections():
            return service.run()
    finally:
        # The HTTP server first: no request may still run when the state closes.
        if server is not None:
            server.close()
        delivery.close()
        monitor.close()


def _start_metrics(settings: Settings, metrics: Exposed, ready: Callable[[], bool]) -> Any:
    """The HTTP endpoints, or None when ``metrics.port`` is null."""
    from monitor.config.settings import ConfigError
    from monitor.service.http import serve

    port = settings.metrics.port
    if port is None:
        return None
    config = settings.metrics
    web = None
    if config.web_config is not None:
        from monitor.service.web_config import load_web_config

        web = load_web_config(settings.resolve(config.web_config))
    try:
        server = serve(metrics, config.bind, port, ready, config.max_connections, web)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on port {port}: {exc.strerror or exc}") from exc
    log.info(
        "serving /metrics, /healthz, /readyz",
        extra={"host": server.host, "port": server.port, "tls": bool(web and web.tls)},
    )
    return server


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM/SIGINT ask the service to stop; the previous handlers come back afterwards."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()  # only sets a flag: no locks (logging) inside a signal handler

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
