"""The monitor's HTTP endpoints: ``/metrics``, ``/healthz`` and ``/readyz`` (``/`` links them).

- ``/metrics``: the injected registry, in the format the scraper asks for (OpenMetrics or text).
- ``/healthz``: 200 while the process can answer at all (liveness: restart me if this fails).
- ``/readyz``: 200 when ``ready()`` is true (consumer assigned, role metadata loaded), else 503
  (readiness: do not count me as serving yet). ``role_monitor_ready`` is set from the same
  ``ready()`` at every exposition, so the gauge and the probe can never disagree.

Health cannot be starved (issue 21, point 2). One selector thread gathers every request head
without blocking, each connection with a deadline of ``IDLE_S`` from its accept for the whole
head (a slowloris client trickling bytes gets no more), at most ``MAX_WAITING`` at once (the
oldest is dropped). A complete head is routed: ``/healthz``, ``/`` and errors are answered on
the spot by that thread; ``/readyz`` by a probe thread of its own; only ``/metrics`` goes to the
``max_connections`` scrape workers, so probes never queue behind scrapes. A scrape costs little
and a flood of them cannot take the consumer's core: the exposition is cached and rebuilt at
most every ``EXPOSITION_TTL_S``, the workers together start at most one scrape every
``SCRAPE_GAP_S``, and past ``MAX_QUEUED_SCRAPES`` waiting a scrape is told 503 at once. Nothing
here touches the consumer's objects: lag and state sizes are snapshots the consumer thread takes
(see metrics.py).

``metrics.web_config`` (:mod:`monitor.service.web_config`) adds TLS and basic auth. The TLS
handshake runs in the same selector thread, non-blocking and inside the same deadline, so a
client that never finishes it costs no thread either. ``/healthz`` and ``/readyz`` answer without
credentials (kubelet probes carry none; up or ready is all they say).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import choose_encoder

from monitor.service.http_wire import (
    CHALLENGE,
    MAX_HEAD_BYTES,
    BadRequest,
    Head,
    head_end,
    parse_head,
    response,
)
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
HTML = "text/html; charset=utf-8"


class Exposed(Protocol):
    """What the endpoints need of a process's metrics (the monitor's, the forwarder's)."""

    registry: CollectorRegistry
    ready: Gauge


#: Answer without basic auth: up or ready is all they say, and kubelet probes carry no password.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})

DEFAULT_MAX_CONNECTIONS = 16
#: Seconds a connection has, from its accept, to send its whole request head.
IDLE_S = 5.0
#: Connections gathering their request head; past this the oldest is closed.
MAX_WAITING = 1024
#: The exposition is rebuilt at most this often (Prometheus scrapes every 15 s or more).
EXPOSITION_TTL_S = 2.0
#: Scrapes start at least this far apart, whatever the number of scrapers.
SCRAPE_GAP_S = 0.05
#: Scrapes waiting for a worker; more are answered 503 at once.
MAX_QUEUED_SCRAPES = 64


@dataclass
class _Pending:
    """A connection gathering its request head."""

    address: Any
    deadline: float
    head: bytearray = field(default_factory=bytearray)
    #: A TLS connection whose handshake is not done yet.
    handshaking: bool = False


class _Server(socketserver.TCPServer):
    allow_reuse_address = True
    request_queue_size = 1024

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
        super().__init__(address, socketserver.BaseRequestHandler)
        self.metrics = metrics
        self.ready = ready
        self._selector = selectors.DefaultSelector()
        self._waiting: dict[Any, _Pending] = {}  # oldest first
        self._lock = threading.Lock()
        self.closing = False
        self._scrapes: queue.Queue[tuple[Any, Head] | None] = queue.Queue()
        self._probes: queue.SimpleQueue[tuple[Any, Head] | None] = queue.SimpleQueue()
        self._exposition = _Exposition(metrics, self.is_ready)
        self._pace_lock = threading.Lock()
        self._next_scrape = 0.0
        # Daemon threads, not a ThreadPoolExecutor: its threads are joined at interpreter exit,
        # so one slow client could hold the process's exit for IDLE_S.
        self._threads = [
            threading.Thread(target=self._scrape_loop, name=f"metrics-http-{n}", daemon=True)
            for n in range(max_connections)
        ]
        self._threads.append(
            threading.Thread(target=self._probe_loop, name="metrics-http-probe", daemon=True)
        )
        self._threads.append(
            threading.Thread(target=self._watch, name="metrics-http-heads", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    # -- gathering request heads (the selector thread) ------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        """Park the connection until its head is complete (no thread meanwhile)."""
        request.setblocking(False)
        pending = _Pending(client_address, time.monotonic() + IDLE_S)
        if self.web.tls is not None:
            try:
                request = self.web.tls.wrap_socket(
                    request, server_side=True, do_handshake_on_connect=False
                )
            except (ssl.SSLError, OSError):
                self.shutdown_request(request)
                return
            pending.handshaking = True
        with self._lock:
            if len(self._waiting) >= MAX_WAITING:
                self._drop(next(iter(self._waiting)))
            self._waiting[request] = pending
            self._selector.register(request, selectors.EVENT_READ)

    def _watch(self) -> None:
        while not self.closing:
            try:
                events = self._selector.select(timeout=0.2)
            except (OSError, ValueError):  # a socket closed under the selector: look again
                continue
            with self._lock:
                for key, _mask in events:
                    self._read(key.fileobj)
                now = time.monotonic()
                expired = [
                    sock for sock, pending in self._waiting.items() if pending.deadline < now
                ]
                for sock in expired:
                    self._drop(sock)

    def _read(self, sock: Any) -> None:
        """Take what arrived; route the request once its head is complete (the lock is held)."""
        pending = self._waiting.get(sock)
        if pending is None or (pending.handshaking and not self._handshake(sock, pending)):
            return
        try:
            chunk = _receive(sock)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(sock)
            return
        pending.head += chunk
        end = head_end(bytes(pending.head))
        if end < 0:
            if len(pending.head) > MAX_HEAD_BYTES:
                self._answer_now(sock, response(431, b"request head too large\n"))
            return
        self._forget(sock)
        try:
            head = parse_head(bytes(pending.head[:end]))
        except BadRequest:
            _send_now(sock, response(400, b"bad request\n"))
            return
        self._route(sock, head)

    def _handshake(self, sock: Any, pending: _Pending) -> bool:
        """Advance a TLS handshake; True once done (the lock is held). A client that does not
        speak TLS is dropped; one that is slow keeps its deadline."""
        try:
            sock.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake with %s failed: %s", pending.address, exc)
            self._drop(sock)
            return False
        pending.handshaking = False
        return True

    def _route(self, sock: Any, head: Head) -> None:
        with_body = head.method == "GET"
        if head.path not in OPEN_PATHS and not self.web.allows(head.authorization):
            _send_now(sock, response(401, b"unauthorized\n", with_body=with_body, extra=CHALLENGE))
        elif head.method not in ("GET", "HEAD"):
            _send_now(sock, response(405, b"only GET and HEAD\n"))
        elif head.path == "/healthz":
            _send_now(sock, response(200, b"ok\n", with_body=with_body))
        elif head.path == "/":
            _send_now(sock, response(200, LANDING_PAGE, HTML, with_body))
        elif head.path == "/readyz":
            self._probes.put((sock, head))
        elif head.path != "/metrics":
            _send_now(sock, response(404, b"not found\n", with_body=with_body))
        elif self._scrapes.qsize() >= MAX_QUEUED_SCRAPES:
            _send_now(sock, response(503, b"too many scrapes at once\n", with_body=with_body))
        else:
            self._scrapes.put((sock, head))

    def _answer_now(self, sock: Any, data: bytes) -> None:
        self._forget(sock)
        _send_now(sock, data)

    def _forget(self, sock: Any) -> None:
        """Stop watching ``sock`` without closing it (the lock is held)."""
        self._waiting.pop(sock, None)
        with contextlib.suppress(KeyError, ValueError):  # not registered (any more)
            self._selector.unregister(sock)

    def _drop(self, sock: Any) -> None:
        """Close a waiting connection (the lock is held)."""
        self._forget(sock)
        self.shutdown_request(sock)

    # -- answering (probe thread, scrape workers) -----------------------------------------------

    def _probe_loop(self) -> None:
        while (item := self._probes.get()) is not None:
            sock, head = item
            ready = self.is_ready()
            body = b"ready\n" if ready else b"not ready\n"
            _send(sock, response(200 if ready else 503, body, with_body=head.method == "GET"))

    def _scrape_loop(self) -> None:
        while (item := self._scrapes.get()) is not None:
            sock, head = item
            self._pace()
            try:
                body, content_type = self._exposition.get(head.accept)
            except Exception:
                log.exception("building the exposition failed")
                body, content_type = b"exposition failed\n", "text/plain; charset=utf-8"
                _send(sock, response(503, body, content_type, head.method == "GET"))
                continue
            _send(sock, response(200, body, content_type, head.method == "GET"))

    def _pace(self) -> None:
        """Wait for this scrape's turn: at most one start every SCRAPE_GAP_S, all workers."""
        with self._pace_lock:
            now = time.monotonic()
            start = max(now, self._next_scrape)
            self._next_scrape = start + SCRAPE_GAP_S
        if start > now:
            time.sleep(start - now)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request is its own problem, not a traceback on stderr."""
        log.debug("request from %s failed", client_address, exc_info=True)

    def close_all(self) -> None:
        """Stop every thread, close every waiting connection."""
        self.closing = True
        for thread in self._threads:
            if thread.name == "metrics-http-heads":
                thread.join(timeout=2)
        with self._lock:
            for sock in list(self._waiting):
                self._drop(sock)
        for _thread in self._threads:
            self._scrapes.put(None)
        self._probes.put(None)
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


class _Exposition:
    """The registry rendered at most every EXPOSITION_TTL_S per format, one build at a time."""

    def __init__(self, metrics: Exposed, refresh_ready: Callable[[], bool]) -> None:
        self._metrics = metrics
        self._refresh_ready = refresh_ready
        self._lock = threading.Lock()
        self._built: dict[str, tuple[float, bytes]] = {}

    def get(self, accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        with self._lock:  # concurrent scrapes wait for one build instead of each building
            now = time.monotonic()
            cached = self._built.get(content_type)
            if cached is not None and now - cached[0] < EXPOSITION_TTL_S:
                return cached[1], content_type
            self._refresh_ready()
            body = encoder(self._metrics.registry)
            self._built[content_type] = (time.monotonic(), body)
            return body, content_type


def _receive(sock: Any) -> bytes:
    """What arrived; over TLS also what the last record left decrypted but unread."""
    chunk = sock.recv(4096)
    while chunk and isinstance(sock, ssl.SSLSocket) and sock.pending():
        chunk += sock.recv(sock.pending())
    return chunk


def _send_now(sock: Any, data: bytes) -> None:
    """A small answer on a fresh connection: its send buffer takes it without blocking."""
    with contextlib.suppress(OSError):
        sock.send(data)
    _close(sock)


def _send(sock: Any, data: bytes) -> None:
    """A whole answer, blocking at most IDLE_S on a client that does not read."""
    try:
        sock.settimeout(IDLE_S)
        sock.sendall(data)
    except OSError:
        log.debug("a client went away before its answer")
    finally:
        _close(sock)


def _close(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    sock.close()


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
