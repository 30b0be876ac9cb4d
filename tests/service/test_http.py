"""monitor/service/http.py over real sockets: /metrics, /healthz, /readyz, and a clean shutdown."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from monitor.metrics import Metrics
from monitor.service.http import MetricsServer, serve


class Flag:
    def __init__(self) -> None:
        self.ready = False

    def __call__(self) -> bool:
        return self.ready


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(registry=CollectorRegistry())


@pytest.fixture
def flag() -> Flag:
    return Flag()


@pytest.fixture
def server(metrics: Metrics, flag: Flag) -> Iterator[MetricsServer]:
    with serve(metrics, "127.0.0.1", 0, flag) as running:
        yield running


def get(server: MetricsServer, path: str, accept: str | None = None) -> tuple[int, str, str]:
    """(status, content type, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}")
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_metrics_in_prometheus_text_format(server: MetricsServer, metrics: Metrics) -> None:
    metrics.records.labels("processed").inc(3)
    status, content_type, body = get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert 'role_monitor_records_total{outcome="processed"} 3.0' in body


def test_metrics_in_openmetrics_when_asked(server: MetricsServer) -> None:
    status, content_type, body = get(server, "/metrics", "application/openmetrics-text")
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith("# EOF\n")


def test_healthz_answers_while_alive(server: MetricsServer) -> None:
    assert get(server, "/healthz")[::2] == (200, "ok\n")


def test_readyz_follows_ready_and_sets_the_gauge(
    server: MetricsServer, metrics: Metrics, flag: Flag
) -> None:
    value = metrics.registry.get_sample_value
    assert get(server, "/readyz")[::2] == (503, "not ready\n")
    assert value("role_monitor_ready") == 0
    flag.ready = True
    assert get(server, "/readyz")[::2] == (200, "ready\n")
    assert value("role_monitor_ready") == 1
    flag.ready = False
    assert "role_monitor_ready 0.0" in get(server, "/metrics")[2], "a scrape refreshes the gauge"


def test_a_failing_readiness_check_is_not_ready(metrics: Metrics) -> None:
    def broken() -> bool:
        raise RuntimeError("catalog exploded")

    with serve(metrics, "127.0.0.1", 0, broken) as running:
        assert get(running, "/readyz")[0] == 503
        assert get(running, "/healthz")[0] == 200


def test_unknown_path_is_404_and_head_works(server: MetricsServer) -> None:
    assert get(server, "/admin")[0] == 404
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz", method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200 and response.read() == b""


def test_a_stalled_client_does_not_block_scrapes(server: MetricsServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as stalled:
        stalled.sendall(b"GET /metrics HTTP/1.1\r\n")  # never finishes its request
        assert get(server, "/healthz")[0] == 200


def test_close_frees_the_port(metrics: Metrics) -> None:
    running = serve(metrics, "127.0.0.1", 0, lambda: True)
    port = running.port
    assert port > 0
    running.close()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_the_root_page_links_every_endpoint(server: MetricsServer) -> None:
    status, content_type, body = get(server, "/")
    assert status == 200 and content_type.startswith("text/html")
    for path in ("metrics", "healthz", "readyz"):
        assert f'href="{path}"' in body
        assert get(server, f"/{path}")[0] in (200, 503)


def test_process_metrics_are_exported(server: MetricsServer) -> None:
    body = get(server, "/metrics")[2]
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total"):
        assert f"\n{name} " in body, name


def test_idle_connections_cost_no_threads_and_scrapes_still_answer(metrics: Metrics) -> None:
    """Issue 12, point 2: 1,500 connections that never send a request."""
    before = threading.active_count()
    running = serve(metrics, "127.0.0.1", 0, lambda: True, max_connections=4)
    idle: list[socket.socket] = []
    try:
        for _ in range(1500):
            conn = socket.socket()
            conn.setblocking(False)
            conn.connect_ex(("127.0.0.1", running.port))
            idle.append(conn)
        assert get(running, "/metrics")[0] == 200
        # workers, accept loop, head watcher, probe thread
        assert threading.active_count() - before <= 4 + 3
    finally:
        for conn in idle:
            conn.close()
        running.close()


def test_scrapes_never_count_state_rows(metrics: Metrics) -> None:
    """Issue 12, point 2: the state belongs to the consumer thread; a scrape reads a sample."""
    calls: list[str] = []

    def sizes() -> list[tuple[str, int]]:
        calls.append(threading.current_thread().name)
        return [("baseline", len(calls))]

    metrics.watch_state(sizes)
    with serve(metrics, "127.0.0.1", 0, lambda: True) as running:
        bodies = [get(running, "/metrics")[2] for _ in range(50)]
    assert calls == [threading.current_thread().name]  # the one sample taken at startup
    assert all('role_monitor_state_rows{table="baseline"} 1.0' in body for body in bodies)
    metrics.sample_state()  # what the consumer does at a checkpoint
    assert metrics.registry.get_sample_value("role_monitor_state_rows", {"table": "baseline"}) == 2
