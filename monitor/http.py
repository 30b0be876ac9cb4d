"""The monitor's HTTP endpoints: ``/metrics``, ``/healthz`` and ``/readyz`` (``/`` links them).

- ``/metrics``: the injected registry, in the format the scraper asks for (OpenMetrics or text).
- ``/healthz``: 200 while the process can answer at all (liveness: restart me if this fails).
- ``/readyz``: 200 when ``ready()`` is true (consumer assigned, role metadata loaded), else 503
  (readiness: do not count me as serving yet). ``role_monitor_ready`` is set from the same
  ``ready()`` at every scrape, so the gauge and the probe can never disagree.

A stdlib threaded server on a daemon thread: a slow scraper cannot stall the consumer, and no
web framework is needed for three GET routes. Nothing here touches the consumer's objects: lag
and state sizes are snapshots the consumer thread takes (see metrics.py), so a flood of scrapes
costs CPU on this thread only. At most ``max_connections`` requests are served at once (more
wait in the kernel's listen queue), each connection closes after its answer and may idle 5 s:
1,500 idle connections cost at most ``max_connections`` threads, never 1,500.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import choose_encoder

from monitor.metrics import Metrics

log = logging.getLogger(__name__)

#: ``/``: where a person opening the port in a browser finds the endpoints (static: no input).
LANDING_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>role-usage-monitor</title></head>
<body><h1>role-usage-monitor</h1>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="healthz">/healthz</a>: liveness (200 while the process answers)</li>
<li><a href="readyz">/readyz</a>: readiness (200 once partitions are assigned and roles loaded)</li>
</ul></body></html>
"""


DEFAULT_MAX_CONNECTIONS = 16


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        metrics: Metrics,
        ready: Callable[[], bool],
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.metrics = metrics
        self.ready = ready
        self._slots = threading.BoundedSemaphore(max_connections)
        self.closing = False

    def process_request(self, request: Any, client_address: Any) -> None:
        """A handler thread once a slot is free; the accept loop waits meanwhile (bounded)."""
        while not self._slots.acquire(timeout=0.5):
            if self.closing:
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def is_ready(self) -> bool:
        """``ready()``, with an exception counting as not ready (and logged, not raised)."""
        try:
            ready = bool(self.ready())
        except Exception:
            log.exception("readiness check failed")
            ready = False
        self.metrics.ready.set(1 if ready else 0)
        return ready


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    #: Seconds a client may take to send its request: a stalled or slow client holds one of the
    #: few handler slots for at most this long.
    timeout = 5

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._reply(200, LANDING_PAGE, "text/html; charset=utf-8", send_body)
        elif path == "/metrics":
            self.server.is_ready()
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, encoder(self.server.metrics.registry), content_type, send_body)
        elif path == "/healthz":
            self._reply(200, b"ok\n", "text/plain; charset=utf-8", send_body)
        elif path == "/readyz":
            ready = self.server.is_ready()
            body = b"ready\n" if ready else b"not ready\n"
            self._reply(200 if ready else 503, body, "text/plain; charset=utf-8", send_body)
        else:
            self._reply(404, b"not found\n", "text/plain; charset=utf-8", send_body)

    def _reply(self, status: int, body: bytes, content_type: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # One request per connection: an idle keep-alive connection would hold a slot.
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes and probes every few seconds are not worth an INFO line each."""
        log.debug("%s %s", self.address_string(), format % args)


class MetricsServer:
    """A running endpoint server; :meth:`close` stops it and frees the port."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread = threading.Thread(
            # A short poll keeps close() (and test teardown) fast; idle cost is negligible.
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="metrics-http",
            daemon=True,
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.closing = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    metrics: Metrics,
    host: str,
    port: int,
    ready: Callable[[], bool],
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> MetricsServer:
    """Start serving on ``host:port`` (port 0: an ephemeral port, see ``.port``)."""
    return MetricsServer(_Server((host, port), metrics, ready, max_connections))
