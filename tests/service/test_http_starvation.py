"""Health that cannot be starved (issue 21, point 2), against the real HTTP server.

Before: four connections a second each sending ``GET /healthz HTTP/1.1`` without the blank
line timed out 16 of 18 one-second probes, and 200 of them delayed ``/healthz`` by 60 s (a
Kubernetes liveness probe would restart the pod in a loop). Each probe here has a 1 s budget,
as a kubelet's default ``timeoutSeconds``.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from monitor.metrics import Metrics
from monitor.service.http import IDLE_S, MetricsServer, serve

SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # never the blank line


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    with serve(Metrics(registry=CollectorRegistry()), "127.0.0.1", 0, lambda: True) as running:
        yield running


def probe(server: MetricsServer, path: str) -> float | None:
    """Seconds a 1 s probe took, None when it timed out or failed."""
    started = time.monotonic()
    try:
        url = f"http://127.0.0.1:{server.port}{path}"
        with urllib.request.urlopen(url, timeout=1.0) as response:
            response.read()
            ok = response.status == 200
    except (OSError, urllib.error.URLError):
        return None
    return time.monotonic() - started if ok else None


def slow_client(server: MetricsServer) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", server.port))
    conn.sendall(SLOW_HEAD)
    return conn


def test_two_hundred_slowloris_connections_do_not_delay_health(server: MetricsServer) -> None:
    held = [slow_client(server) for _ in range(200)]
    try:
        took = [probe(server, path) for path in ("/healthz", "/readyz") * 9]
    finally:
        for conn in held:
            conn.close()
    assert None not in took, f"{took.count(None)} of 18 probes timed out"
    assert max(t for t in took if t is not None) < 0.5, took


def test_a_steady_trickle_of_slow_connections_never_times_a_probe_out(
    server: MetricsServer,
) -> None:
    """Four new slow connections a second for longer than the head deadline."""
    held: list[socket.socket] = []
    stop = threading.Event()

    def attacker() -> None:
        while not stop.wait(0.25):
            held.append(slow_client(server))

    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    took: list[float | None] = []
    try:
        deadline = time.monotonic() + IDLE_S + 2
        while time.monotonic() < deadline:
            took.append(probe(server, "/healthz"))
            took.append(probe(server, "/readyz"))
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
    assert len(held) >= 4 * IDLE_S
    assert None not in took, f"{took.count(None)} of {len(took)} probes timed out"


def test_a_slow_head_is_closed_at_its_deadline_however_it_trickles(
    server: MetricsServer,
) -> None:
    conn = slow_client(server)
    conn.settimeout(0.2)
    started = time.monotonic()
    closed_after = None
    try:
        while time.monotonic() - started < IDLE_S + 3:
            try:
                if conn.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                conn.sendall(b"X-Slow: 1\r\n")  # one more header line every 0.2 s
    finally:
        conn.close()
    assert closed_after is not None and closed_after < IDLE_S + 1, closed_after


def test_probes_are_answered_ahead_of_a_flood_of_scrapes(server: MetricsServer) -> None:
    stop = threading.Event()
    scraped = [0]

    def scraper() -> None:
        while not stop.is_set():
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=30):
                scraped[0] += 1

    threads = [threading.Thread(target=scraper, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        took = [probe(server, path) for path in ("/healthz", "/readyz") * 9]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert scraped[0] > 0
    assert None not in took, f"{took.count(None)} of 18 probes timed out"
