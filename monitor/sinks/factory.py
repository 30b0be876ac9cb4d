"""Build the configured sinks from ``alerts:``; JSON lines on stdout when none is configured.

Settings are read here, at the edge: the sinks receive plain values and secrets stay
``SecretStr`` until the moment of the request. Passing ``metrics`` counts each in-send retry as
``role_monitor_alerts_total{sink, outcome="retried"}``.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import JsonLinesSink
from monitor.sinks.kafka_sink import KafkaSink, client_options
from monitor.sinks.retry import TransientSinkError
from monitor.sinks.sns import SnsSink
from monitor.sinks.webhook import DEFAULT_RUNBOOK, WebhookSink

RetryHook = Callable[[TransientSinkError], None]


def build_sinks(settings: Settings, metrics: Metrics | None = None) -> list[Sink]:
    alerts = settings.alerts
    sinks: list[Sink] = []
    if alerts.jsonl is not None:
        path = alerts.jsonl.path
        sinks.append(JsonLinesSink(path if path == "-" else str(settings.resolve(path))))
    if alerts.kafka is not None:
        options = client_options(settings.kafka, settings.resolve)
        sinks.append(KafkaSink(alerts.kafka.topic, options))
    if alerts.alertmanager is not None:
        hook = _retry_counter(metrics, AlertmanagerSink.name)
        sinks.append(AlertmanagerSink(alerts.alertmanager, on_retry=hook))
    if alerts.sns is not None:
        sinks.append(SnsSink(alerts.sns))
    if alerts.webhook is not None:
        runbook = alerts.alertmanager.runbook_base_url if alerts.alertmanager else DEFAULT_RUNBOOK
        hook = _retry_counter(metrics, WebhookSink.name)
        sinks.append(WebhookSink(alerts.webhook, runbook_base=runbook, on_retry=hook))
    return sinks or [JsonLinesSink("-")]


def _retry_counter(metrics: Metrics | None, sink: str) -> RetryHook | None:
    if metrics is None:
        return None
    counter = metrics.alerts.labels(sink, "retried")
    return lambda _exc: counter.inc()
