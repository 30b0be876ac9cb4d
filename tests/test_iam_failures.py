"""Live IAM failing: unreachable, throttling past the retries, denying the read role.

Whatever IAM does, every event is still processed and its findings say the metadata was
unavailable; a metric counts why. The sample stream is replayed with live IAM only, against a
closed port or a tiny local server that answers every IAM call with an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins.moto_server import free_port

from monitor.config.settings import load_settings
from monitor.metrics import Metrics
from monitor.service.app import build_monitor
from monitor.sources.files import expand, read_messages

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ERROR = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    "<Code>{code}</Code><Message>{code} from the test server</Message></Error>"
    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


class ErrorServer:
    """Answers every request with one AWS error; counts the requests it got."""

    def __init__(self, code: str, status: int) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                body = ERROR.format(code=code).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ErrorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "AKIATESTING000000000",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield


def config(tmp_path: Path, **iam: Any) -> Path:
    """The sample config with live IAM only (organization from the sample accounts file)."""
    data = yaml.safe_load((EXAMPLES / "config.yaml").read_text())
    data["organization"] = {"accounts_file": str(EXAMPLES / "org" / "accounts.json")}
    data["inventory"] = {
        "iam": {"enabled": True, "max_attempts": 2, "timeout": "2s", "ttl": "15m", **iam}
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def replay(path: Path) -> tuple[list[dict[str, Any]], Any, Metrics]:
    metrics = Metrics()
    monitor = build_monitor(load_settings(path), state_path=":memory:", metrics=metrics)
    findings = []
    for source in expand([str(EXAMPLES / "stream")]):
        for message in read_messages(source):
            findings += monitor.pipeline.process(message.payload).findings
    monitor.close()
    return [json.loads(f.to_json()) for f in findings], monitor.pipeline.stats, metrics


def outcome(metrics: Metrics, name: str) -> float:
    labels = {"source": "iam", "outcome": name}
    return metrics.registry.get_sample_value("role_monitor_enrichment_lookups_total", labels) or 0


def assert_flowed_and_marked(findings: list[dict[str, Any]], stats: Any) -> None:
    """Every assumption processed, findings raised, each saying metadata was unavailable."""
    assert stats.processed == 10 and stats.rejected.total() == 1  # the truncated sample line
    assert {"break_glass_assumed", "external_account"} <= {f["detector"] for f in findings}
    assert {f["metadata"] for f in findings} == {"unavailable"}
    for finding in findings:
        reason = finding["evidence"].get("trust_grant", {}).get("reason", "")
        assert "unavailable" in reason or finding["event_name"] == "AssumeRoot", finding


def test_unreachable_iam(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    findings, stats, metrics = replay(config(tmp_path, endpoint_url=closed))
    elapsed = time.perf_counter() - started
    assert_flowed_and_marked(findings, stats)
    # Two accounts hold the sample's roles: one failure each, then the backoff answers.
    assert outcome(metrics, "error") >= 2
    assert elapsed < 20, f"each event must not wait out the timeouts ({elapsed:.1f} s)"


def test_throttled_past_the_retries(tmp_path: Path) -> None:
    with ErrorServer("Throttling", 400) as iam:
        findings, stats, metrics = replay(config(tmp_path, endpoint_url=iam.url, read_role=""))
    assert_flowed_and_marked(findings, stats)
    assert outcome(metrics, "throttled") >= 2 and outcome(metrics, "error") == 0
    assert iam.requests == 2 * 2, "two accounts, max_attempts=2: retried once each"


def test_read_role_denied(tmp_path: Path) -> None:
    with ErrorServer("AccessDenied", 403) as sts:
        findings, stats, metrics = replay(config(tmp_path, endpoint_url=sts.url))
    assert_flowed_and_marked(findings, stats)
    assert outcome(metrics, "error") >= 2 and outcome(metrics, "throttled") == 0
    assert sts.requests == 2, "AccessDenied is not retried"
