"""A sink that does not answer is down after ``alerts.call_timeout`` (issue 21, point 3).

Against a real listening socket that never answers (the kernel completes the handshake from
the backlog; nobody ever reads). Before: 10 s per socket operation and three attempts per POST,
so one call took 30 s and more; now the whole call, retries included, ends at the deadline.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from plugins.sample_findings import make_finding

from monitor.config.settings import AlertmanagerSinkConfig, Settings, WebhookSinkConfig
from monitor.sinks.alertmanager import AlertmanagerSink
from monitor.sinks.base import SinkError
from monitor.sinks.factory import build_sinks
from monitor.sinks.webhook import WebhookSink


@pytest.fixture
def mute_url() -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def timed_failure(send: Callable[[], None]) -> float:
    started = time.monotonic()
    with pytest.raises(SinkError, match=r"timed out|alerts\.call_timeout"):
        send()
    return time.monotonic() - started


def test_every_http_sink_gives_up_at_its_call_deadline(mute_url: str) -> None:
    findings = [make_finding(), make_finding(event_id="e-2")]
    webhook = WebhookSink(WebhookSinkConfig(url=mute_url, format="generic"), timeout=1.0)
    alertmanager = AlertmanagerSink(AlertmanagerSinkConfig(url=mute_url), timeout=1.0)
    for sink in (webhook, alertmanager):
        took = timed_failure(lambda sink=sink: sink.send(findings))
        assert took < 1.8, f"{sink.name}: {took:.1f}s for a 1 s deadline"


def test_the_setting_reaches_every_sink(mute_url: str) -> None:
    settings = Settings(
        alerts={"webhook": {"url": mute_url, "format": "slack"}, "call_timeout": "0.5s"}
    )
    (sink,) = build_sinks(settings)
    took = timed_failure(lambda: sink.send([make_finding()]))
    assert took < 1.2, f"{took:.1f}s for a 0.5 s deadline"
