"""Build the configured sinks from ``alerts:``; JSON lines on stdout when none is configured.

Settings are read here, at the edge: the sinks receive plain values and secrets stay
``SecretStr`` until the moment of the request. Passing ``metrics`` counts each in-send retry as
``role_monitor_alerts_total{sink, outcome="retried"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monitor.config.settings import Settings, WebhookSinkConfig
from monitor.metrics import Metrics
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import JsonLinesSink
from monitor.sinks.kafka_sink import KafkaSink, client_options
from monitor.sinks.retry import TransientSinkError
from monitor.sinks.sns import SnsSink
from monitor.sinks.webhook import WebhookSink

RetryHook = Callable[[TransientSinkError], None]


def build_sinks(settings: Settings, metrics: Metrics | None = None) -> list[Sink]:
    alerts = settings.alerts
    timeout = alerts.call_timeout.total_seconds()  # every sink's per-call deadline
    sinks: list[Sink] = []
    runbook = runbook_base_url(settings)
    if alerts.jsonl is not None:
        path = alerts.jsonl.path
        target = path if path == "-" else str(settings.resolve(path))
        sinks.append(JsonLinesSink(target, runbook_base=runbook))
    if alerts.kafka is not None:
        options = client_options(settings.kafka, settings.resolve)
        sinks.append(
            KafkaSink(alerts.kafka.topic, options, runbook_base=runbook, flush_timeout=timeout)
        )
    if alerts.alertmanager is not None:
        hook = _retry_counter(metrics, AlertmanagerSink.name)
        sinks.append(
            AlertmanagerSink(
                alerts.alertmanager, on_retry=hook, runbook_base=runbook, timeout=timeout
            )
        )
    if alerts.sns is not None:
        sinks.append(SnsSink(alerts.sns, runbook_base=runbook, timeout=timeout))
    for webhook, name in zip(
        alerts.webhook or [], webhook_names(alerts.webhook or []), strict=True
    ):
        hook = _retry_counter(metrics, name)
        sinks.append(
            WebhookSink(webhook, name=name, runbook_base=runbook, on_retry=hook, timeout=timeout)
        )
    return sinks or [JsonLinesSink("-")]


def runbook_base_url(settings: Settings) -> str | None:
    """``alerts.runbook_base_url``, else the older ``alerts.alertmanager.runbook_base_url``."""
    alerts = settings.alerts
    older = alerts.alertmanager.runbook_base_url if alerts.alertmanager else None
    return alerts.runbook_base_url or older


def webhook_names(webhooks: Sequence[WebhookSinkConfig]) -> list[str]:
    """Distinct sink names (metric labels, per-sink delivery progress) for the webhooks."""
    if len(webhooks) == 1:
        return [webhooks[0].name or WebhookSink.name]
    names: list[str] = []
    for webhook in webhooks:
        base = webhook.name or f"{WebhookSink.name}-{webhook.format}"
        name, number = base, 2
        while name in names:
            name, number = f"{base}-{number}", number + 1
        names.append(name)
    return names


def _retry_counter(metrics: Metrics | None, sink: str) -> RetryHook | None:
    if metrics is None:
        return None
    counter = metrics.alerts.labels(sink, "retried")
    return lambda _exc: counter.inc()
