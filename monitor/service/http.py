"""The monitor's HTTP endpoints: ``/metrics``, ``/healthz`` and ``/readyz`` (``/`` links them).

- ``/metrics``: the injected registry, in the format the scraper asks for (OpenMetrics or text).
- ``/healthz``: 200 while the process can answer at all (liveness: restart me if this fails).
- ``/readyz``: 200 when ``ready()`` is true (consumer assigned, role metadata loaded), else 503
  (readiness: do not count me as serving yet). ``role_monitor_ready`` is set from the same
  ``ready()`` at every scrape, so the gauge and the probe can never disagree.

A stdlib server on a daemon thread: a slow scraper cannot stall the consumer, and no web
framework is needed for three GET routes. Nothing here touches the consumer's objects: lag and
state sizes are snapshots the consumer thread takes (see metrics.py), so a flood of scrapes
costs CPU on these threads only. Threads are bounded: an accepted connection waits in a selector
(an fd, no thread) until its request arrives, then ``max_connections`` worker threads serve
requests; a connection that sends nothing for ``IDLE_S`` is closed, at most ``MAX_WAITING`` wait
(the oldest is dropped), and every connection closes after its answer. Before, each of 1,500
idle connections held a thread, and SIGTERM with them open ended in SIGSEGV.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import choose_encoder

from monitor.service.web_config import WebConfig

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


class Exposed(Protocol):
    """What the endpoints need of a process's metrics (the monitor's, the forwarder's)."""

    registry: CollectorRegistry
    ready: Gauge


#: Answer without basic auth: up or ready is all they say, and kubelet probes carry no password.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
DEFAULT_MAX_CONNECTIONS = 16
#: Seconds a connection may stay open without sending its request.
IDLE_S = 5.0
#: Connections waiting for their request; past this the oldest is closed.
MAX_WAITING = 1024


class _Server(HTTPServer):
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        metrics: Exposed,
        ready: Callable[[], bool],
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        web: WebConfig | None = None,
    ):
        #: ``metrics.web_config``: TLS and basic auth (none: plain HTTP, open).
        self.web = web or WebConfig()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.metrics = metrics
        self.ready = ready
        # Daemon threads, not a ThreadPoolExecutor: its threads are joined at interpreter exit,
        # so one slow client could hold the process's exit for IDLE_S.
        self._ready_requests: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"metrics-http-{n}", daemon=True)
            for n in range(max_connections)
        ]
        for worker in self._workers:
            worker.start()
        self._selector = selectors.DefaultSelector()
        #: Connections waiting for their request: socket → (address, deadline), oldest first.
        self._waiting: dict[Any, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self.closing = False
        self._watcher = threading.Thread(target=self._watch, name="metrics-http-idle", daemon=True)
        self._watcher.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Park the connection until it has something to read (no thread meanwhile)."""
        with self._lock:
            if len(self._waiting) >= MAX_WAITING:
                self._drop(next(iter(self._waiting)))
            self._waiting[request] = (client_address, time.monotonic() + IDLE_S)
            self._selector.register(request, selectors.EVENT_READ)

    def _watch(self) -> None:
        while not self.closing:
            try:
                events = self._selector.select(timeout=0.2)
            except (OSError, ValueError):  # a socket closed under the selector: look again
                continue
            now = time.monotonic()
            with self._lock:
                for key, _mask in events:
                    parked = self._waiting.pop(key.fileobj, None)
                    self._selector.unregister(key.fileobj)
                    if parked is not None:
                        self._ready_requests.put((key.fileobj, parked[0]))
                expired = [sock for sock, (_, deadline) in self._waiting.items() if deadline < now]
                for sock in expired:
                    self._drop(sock)

    def _drop(self, request: Any) -> None:
        """Close a waiting connection (the lock is held)."""
        self._waiting.pop(request, None)
        with contextlib.suppress(KeyError, ValueError):  # not registered (any more)
            self._selector.unregister(request)
        self.shutdown_request(request)

    def _work(self) -> None:
        while (item := self._ready_requests.get()) is not None:
            self._serve(*item)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Over TLS, the handshake runs here, on a worker thread, bounded by ``IDLE_S``."""
        if self.web.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(IDLE_S)
        try:
            secure = self.web.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:  # a client that does not speak TLS, or cannot
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is its own problem, not a traceback on stderr."""
        log.debug("request from %s failed", client_address, exc_info=True)

    def close_all(self) -> None:
        """Stop the watcher and workers, close every waiting connection."""
        self.closing = True
        self._watcher.join(timeout=2)
        with self._lock:
            for sock in list(self._waiting):
                self._drop(sock)
        for _worker in self._workers:
            self._ready_requests.put(None)
        self._selector.close()

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
    timeout = IDLE_S

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path not in OPEN_PATHS and not self.server.web.allows(self.headers.get("Authorization")):
            self._reply(401, b"unauthorized\n", "text/plain; charset=utf-8", send_body,
                        {"WWW-Authenticate": 'Basic realm="role-usage-monitor"'})  # fmt: skip
        elif path == "/":
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

    def _reply(
        self,
        status: int,
        body: bytes,
        content_type: str,
        send_body: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    metrics: Exposed,
    host: str,
    port: int,
    ready: Callable[[], bool],
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    web: WebConfig | None = None,
) -> MetricsServer:
    """Start serving on ``host:port`` (port 0: an ephemeral port, see ``.port``)."""
    return MetricsServer(_Server((host, port), metrics, ready, max_connections, web))
