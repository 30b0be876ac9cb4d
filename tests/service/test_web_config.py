"""``metrics.web_config``: the endpoints over TLS with basic auth (exporter-toolkit format),
served for real and scraped by a real Prometheus."""

from __future__ import annotations

import base64
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import yaml
from plugins.certificates import Certificates, make_certificates
from plugins.prometheus_stack import instant_query, prometheus

from monitor.commands.config_cmd import run_warnings
from monitor.config.settings import ConfigError, Settings
from monitor.metrics import Metrics
from monitor.service.http import MetricsServer, serve
from monitor.service.web_config import load_web_config

PASSWORD = "scrape-me"


def _web_config(folder: Path, certs: Certificates, **extra: object) -> Path:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    document = {
        "tls_server_config": {"cert_file": certs.cert.name, "key_file": certs.key.name},
        "basic_auth_users": {"prometheus": "$2y$" + hashed[4:]},  # htpasswd's spelling
        **extra,
    }
    path = folder / "web.yml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path)


@pytest.fixture
def server(tmp_path: Path, certs: Certificates) -> Iterator[MetricsServer]:
    web = load_web_config(_web_config(tmp_path, certs))
    with serve(Metrics(), "127.0.0.1", 0, lambda: True, web=web) as running:
        yield running


def _get(server: MetricsServer, path: str, certs: Certificates, user: str | None = None,
         password: str = PASSWORD) -> int:  # fmt: skip
    request = urllib.request.Request(f"https://127.0.0.1:{server.port}{path}")
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=str(certs.ca))
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_metrics_need_the_password_probes_do_not(
    server: MetricsServer, certs: Certificates
) -> None:
    assert _get(server, "/metrics", certs) == 401
    assert _get(server, "/metrics", certs, "prometheus", "wrong") == 401
    assert _get(server, "/metrics", certs, "someone-else") == 401
    assert _get(server, "/metrics", certs, "prometheus") == 200
    assert _get(server, "/metrics", certs, "prometheus") == 200  # the remembered good password
    assert _get(server, "/healthz", certs) == 200
    assert _get(server, "/readyz", certs) == 200


def test_plain_http_gets_no_answer_from_the_tls_port(server: MetricsServer) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5)
    assert server.port  # still serving afterwards: checked by the next request
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(
        f"https://127.0.0.1:{server.port}/healthz", timeout=5, context=context
    ) as answer:
        assert answer.status == 200


def test_a_client_ca_requires_a_client_certificate(tmp_path: Path, certs: Certificates) -> None:
    path = _web_config(tmp_path, certs)
    document = yaml.safe_load(path.read_text())
    document["tls_server_config"]["client_ca_file"] = certs.ca.name
    path.write_text(yaml.safe_dump(document))
    web = load_web_config(path)
    with serve(Metrics(), "127.0.0.1", 0, lambda: True, web=web) as running:
        context = ssl.create_default_context(cafile=str(certs.ca))
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            urllib.request.urlopen(f"https://127.0.0.1:{running.port}/healthz", timeout=5,
                                   context=context).read()  # fmt: skip
        context.load_cert_chain(certs.cert, certs.key)  # any certificate the CA signed
        with urllib.request.urlopen(
            f"https://127.0.0.1:{running.port}/healthz", timeout=5, context=context
        ) as answer:
            assert answer.status == 200


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"basic_auth_users": {"p": "plain-text"}}, "not a bcrypt hash"),
        ({"tls_server_config": {"cert_file": "x.crt"}}, "needs cert_file and key_file"),
        ({"tls_server_config": {"cert_file": "no.crt", "key_file": "no.key"}}, "No such file"),
        ({"http_server_config": {"http2": False}}, "unknown key http_server_config"),
    ],
)
def test_a_bad_web_config_is_a_one_line_error(
    tmp_path: Path, document: dict[str, object], message: str
) -> None:
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=message) as caught:
        load_web_config(path)
    assert "\n" not in str(caught.value)


def test_config_check_warns_about_open_metrics_beyond_loopback(tmp_path: Path) -> None:
    def warned(**metrics: object) -> bool:
        settings = Settings(metrics=metrics, state={"path": "s.db"})
        return any("beyond loopback" in w for w in run_warnings(settings))

    assert warned(address="0.0.0.0")
    assert warned(address="monitor.internal")
    assert not warned(address="127.0.0.1")
    assert not warned(address="::1")
    assert not warned(address="0.0.0.0", web_config=str(tmp_path / "web.yml"))


@pytest.mark.prom
def test_prometheus_scrapes_over_tls_with_basic_auth(
    server: MetricsServer, certs: Certificates, tmp_path: Path
) -> None:
    target = f"127.0.0.1:{server.port}"
    tls = {"scheme": "https", "tls_config": {"ca_file": str(certs.ca)}}
    good = {**tls, "basic_auth": {"username": "prometheus", "password": PASSWORD}}
    wrong = {"job_name": "wrong-password", "static_configs": [{"targets": [target]}], **tls,
             "basic_auth": {"username": "prometheus", "password": "nope"}}  # fmt: skip
    with prometheus(tmp_path / "prometheus", target, scrape=good, extra_jobs=[wrong]) as url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            up = {r["metric"]["job"]: r["value"][1] for r in instant_query(url, "up")}
            if len(up) == 2:
                break
            time.sleep(0.5)
        assert up == {"role-monitor": "1", "wrong-password": "0"}
        ready = instant_query(url, 'role_monitor_ready{job="role-monitor"}')
        assert [r["value"][1] for r in ready] == ["1"]
