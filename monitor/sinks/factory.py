"""Build the configured sinks from ``alerts:``; JSON lines on stdout when none is configured."""

from __future__ import annotations

from monitor.config import Settings
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import JsonLinesSink


def build_sinks(settings: Settings) -> list[Sink]:
    alerts = settings.alerts
    sinks: list[Sink] = []
    if alerts.jsonl is not None:
        path = alerts.jsonl.path
        sinks.append(JsonLinesSink(path if path == "-" else str(settings.resolve(path))))
    return sinks or [JsonLinesSink("-")]
