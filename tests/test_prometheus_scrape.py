"""Debian's ``prometheus`` scrapes a monitor that replays the sample stream; every dashboard
query then returns data.

The monitor is built in-process as ``run`` builds it (settings → monitor → sinks → delivery →
HTTP endpoints) and fed the bundled stream in two halves with scrapes in between, so counters
really increase between samples and ``rate()``/``histogram_quantile()`` panels have something to
show. A forwarder's metrics (``role-monitor forward``'s registry and endpoints) are scraped as a
second job for the overview's forwarder row. Every query of every dashboard (panels,
annotations, variables) is then evaluated through the Prometheus HTTP API. A query that returns
nothing would be a panel stuck on "No data".
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from plugins.prometheus_stack import instant_query, prometheus
from prometheus_client import CollectorRegistry
from test_dashboards import DASHBOARD_FILES, load_dashboard, queries

from monitor.config.settings import AlertsConfig, JsonlSinkConfig, Settings, load_settings
from monitor.metrics import Metrics
from monitor.service.app import Monitor, build_monitor
from monitor.service.forwarder_metrics import ForwarderMetrics
from monitor.service.http import MetricsServer, serve
from monitor.sinks.delivery import Delivery
from monitor.sinks.factory import build_sinks
from monitor.sources.files import Message, expand, read_messages

pytestmark = pytest.mark.prom

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
JOB = "role-monitor"
FORWARDER_JOB = "role-forwarder"
SCRAPE_TIMEOUT_S = 60.0
#: Grafana's variables → values that select everything this test's Prometheus holds.
LABEL_VARIABLES = {"job": ".+", "instance": ".+", "detector": ".+", "forwarder_job": FORWARDER_JOB}
#: ``$__range`` longer than the test's history, so ``x unless x offset $__range`` is ``x``.
DURATION_VARIABLES = {"__rate_interval": "5m", "__interval": "1m", "__range": "6h"}
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")


class Readiness:
    def __init__(self) -> None:
        self.ready = False

    def __call__(self) -> bool:
        return self.ready


@dataclass
class Running:
    monitor: Monitor
    delivery: Delivery
    server: MetricsServer
    readiness: Readiness
    findings_file: Path
    forwarder: ForwarderMetrics
    forwarder_server: MetricsServer


def settings_for(findings_file: Path) -> Settings:
    """examples/config.yaml, with findings in a temp file instead of stdout."""
    settings = load_settings(EXAMPLES / "config.yaml")
    alerts = AlertsConfig(jsonl=JsonlSinkConfig(path=str(findings_file)))
    return settings.model_copy(update={"alerts": alerts})


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    settings = settings_for(tmp_path / "findings.jsonl")
    metrics = Metrics(registry=CollectorRegistry())
    monitor = build_monitor(settings, state_path=":memory:", metrics=metrics)
    delivery = Delivery(build_sinks(settings, metrics), monitor.state, metrics)
    metrics.watch_lag(lambda: [("cloudtrail", 0, 0)])
    readiness = Readiness()
    server = serve(metrics, "127.0.0.1", 0, readiness)
    forwarder = ForwarderMetrics()
    forwarder_server = serve(forwarder, "127.0.0.1", 0, lambda: True)
    try:
        yield Running(
            monitor,
            delivery,
            server,
            readiness,
            tmp_path / "findings.jsonl",
            forwarder,
            forwarder_server,
        )
    finally:
        forwarder_server.close()
        server.close()
        delivery.close()
        monitor.close()


def sample_messages() -> list[Message]:
    return [m for source in expand([str(EXAMPLES / "stream")]) for m in read_messages(source)]


def process(run: Running, messages: list[Message]) -> None:
    for message in messages:
        run.delivery.deliver(run.monitor.pipeline.process(message.payload).findings)
    run.delivery.flush()
    run.monitor.state.commit()
    run.delivery.checkpoint_done()


def forward_some(forwarder: ForwarderMetrics, objects: int) -> None:
    """What forwarding ``objects`` log objects counts (each of 40 records, 2 in scope)."""
    forwarder.objects.labels("forwarded").inc(objects)
    forwarder.records.labels("produced").inc(2 * objects)
    forwarder.records.labels("out_of_scope").inc(38 * objects)
    forwarder.messages.labels("deleted").inc(objects)
    forwarder.oldest_age.set(30.0 * objects)


def scrapes(url: str) -> int:
    """How many scrapes of the monitor Prometheus has stored so far."""
    result = instant_query(url, f'min(count_over_time(up{{job=~"{JOB}|{FORWARDER_JOB}"}}[10m]))')
    return int(float(result[0]["value"][1])) if result else 0


def wait_for_scrapes(url: str, count: int) -> None:
    deadline = time.monotonic() + SCRAPE_TIMEOUT_S
    while scrapes(url) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"Prometheus scraped the monitor fewer than {count} times")
        time.sleep(0.2)
    up = instant_query(url, f'up{{job=~"{JOB}|{FORWARDER_JOB}"}}')
    assert len(up) == 2 and all(u["value"][1] == "1" for u in up), f"a target is down: {up}"


def as_promql(expr: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in DURATION_VARIABLES:
            return DURATION_VARIABLES[name]
        assert name in LABEL_VARIABLES, f"unknown Grafana variable ${name} in {expr}"
        return LABEL_VARIABLES[name]

    return GRAFANA_VARIABLE.sub(replace, expr)


def status_of(server: MetricsServer, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_dashboard_query_returns_data(running: Running, tmp_path: Path) -> None:
    messages = sample_messages()
    half = len(messages) // 2
    assert status_of(running.server, "/healthz") == 200
    assert status_of(running.server, "/readyz") == 503, "not ready before metadata/assignment"

    target = f"127.0.0.1:{running.server.port}"
    forwarder = {
        "job_name": FORWARDER_JOB,
        "static_configs": [{"targets": [f"127.0.0.1:{running.forwarder_server.port}"]}],
    }
    with prometheus(tmp_path / "prometheus", target, extra_jobs=[forwarder]) as url:
        process(running, messages[:half])
        forward_some(running.forwarder, 3)
        running.readiness.ready = True
        wait_for_scrapes(url, 2)
        process(running, messages[half:])
        forward_some(running.forwarder, 5)
        wait_for_scrapes(url, scrapes(url) + 3)  # every series now has ≥ 2 samples

        assert status_of(running.server, "/readyz") == 200
        findings = running.findings_file.read_text(encoding="utf-8").splitlines()
        assert findings and all(json.loads(line)["detector"] for line in findings)

        empty: list[str] = []
        not_a_number: list[str] = []
        for name in DASHBOARD_FILES:
            for where, expr in queries(load_dashboard(name)):
                result = instant_query(url, as_promql(expr))
                if not result:
                    empty.append(f"{name} {where}: {expr}")
                elif all(math.isnan(float(s["value"][1])) for s in result):
                    not_a_number.append(f"{name} {where}: {expr}")
        problems = [*(f"no series: {q}" for q in empty), *(f"only NaN: {q}" for q in not_a_number)]
        assert not problems, "dashboard queries without data:\n" + "\n".join(problems)


def test_dashboard_variables_become_regexes() -> None:
    expr = 'sum(rate(x{job=~"$job", detector=~"${detector}"}[$__rate_interval])) offset $__range'
    assert as_promql(expr) == 'sum(rate(x{job=~".+", detector=~".+"}[5m])) offset 6h'
