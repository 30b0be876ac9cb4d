"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

What breaks a compose file silently is wiring: a `depends_on` naming a renamed service, a bind
mount of a path that moved, Prometheus scraping a host that is not a service. These tests read
the files and check that wiring against the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins.processes import require_binary

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
RECEIVER = REPO / "deploy" / "alert-receiver" / "receiver.py"
DATASOURCES = REPO / "dashboards" / "provisioning" / "datasources.yml"
MONITOR_JOB = "role-usage-monitor"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def depends_on(service: dict[str, Any]) -> list[str]:
    value = service.get("depends_on", [])
    return list(value) if isinstance(value, dict | list) else []


def bind_sources(service: dict[str, Any]) -> list[str]:
    """Host paths of the service's bind mounts (short and long syntax); named volumes excluded."""
    sources: list[str] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/", "~")):
                sources.append(source)
        elif volume.get("type") == "bind":
            sources.append(volume["source"])
    return sources


def host_port(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    return host, int(port)


def test_compose_file_parses_and_defines_the_stack() -> None:
    defined = services()
    for name in ("kafka", "monitor", "loader", "prometheus", "alertmanager", "grafana"):
        assert name in defined, f"service {name} missing"


@pytest.mark.parametrize("name", sorted(services()))
def test_depends_on_names_defined_services(name: str) -> None:
    defined = services()
    for dependency in depends_on(defined[name]):
        assert dependency in defined, f"{name} depends on unknown service {dependency}"
        assert dependency != name


@pytest.mark.parametrize("name", sorted(services()))
def test_bind_mount_sources_exist(name: str) -> None:
    for source in bind_sources(services()[name]):
        path = (REPO / source).resolve()
        assert path.is_relative_to(REPO), f"{name}: {source} is outside the repository"
        assert path.exists(), f"{name}: bind mount source {source} does not exist"


def test_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in services().items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str) and not volume.startswith((".", "/", "~")):
                assert volume.split(":", 1)[0] in declared, f"{name}: undeclared {volume}"


def test_monitor_image_is_built_from_the_dockerfile() -> None:
    dockerfile = REPO / "Dockerfile"
    assert dockerfile.is_file()
    text = dockerfile.read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["role-monitor"]' in text
    assert "FROM python:3.11-slim" in text
    monitor = services()["monitor"]
    assert monitor["build"] in (".", {"context": "."})
    assert monitor["command"][:2] == ["run", "--config"]


def test_loader_produces_the_bundled_stream() -> None:
    loader = services()["loader"]
    assert loader["command"][0] == "produce"
    assert "--topic" in loader["command"] and "/data/stream" in loader["command"]
    assert any(v.startswith("./examples:/data") for v in loader["volumes"])
    # examples/stream/ is the bundled sample; the folder holding it must exist.
    assert (REPO / "examples").is_dir()


def test_prometheus_scrapes_the_monitor_service() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = [t for sc in jobs[MONITOR_JOB]["static_configs"] for t in sc["targets"]]
    monitor_ports = {int(p.split(":")[-1]) for p in services()["monitor"].get("ports", [])}
    assert targets
    for target in targets:
        host, port = host_port(target)
        assert host == "monitor", f"{target} is not the compose monitor service"
        assert port in monitor_ports | {9464}


def test_prometheus_finds_the_optional_forwarder_service() -> None:
    """By DNS, so that a stack without the forwarder profile has no target (and no alert)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    lookups = jobs["role-usage-forwarder"]["dns_sd_configs"]
    forwarder = services()["forwarder"]
    port = int(forwarder["environment"]["ROLE_MONITOR_METRICS__PORT"])
    assert lookups == [{"names": ["forwarder"], "type": "A", "port": port}]


def test_prometheus_alerts_go_to_the_alertmanager_service() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    targets = [
        target
        for am in config["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for target in sc["targets"]
    ]
    assert targets
    for target in targets:
        assert host_port(target)[0] in services(), target


def test_mounted_prometheus_folder_holds_the_config() -> None:
    prometheus = services()["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]


def test_grafana_datasource_points_at_the_prometheus_service() -> None:
    datasources = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    prometheus = next(ds for ds in datasources if ds["type"] == "prometheus")
    assert prometheus["uid"] == "prometheus"
    assert prometheus["url"].removeprefix("http://").split(":")[0] in services()


def test_monitor_environment_points_at_compose_services() -> None:
    environment = services()["monitor"]["environment"]
    assert environment["ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS"].split(":")[0] in services()
    alertmanager = environment["ROLE_MONITOR_ALERTS__ALERTMANAGER__URL"]
    assert alertmanager.removeprefix("http://").split(":")[0] in services()
    assert environment["ROLE_MONITOR_METRICS__PORT"] == "9464"


# ------------------------------------------------------------------ what the issue found broken


def test_the_monitor_healthcheck_probes_healthz() -> None:
    test = " ".join(services()["monitor"]["healthcheck"]["test"])
    assert "127.0.0.1:9464/healthz" in test


def test_the_loader_moves_the_sample_to_now() -> None:
    """Fixed 2026 timestamps would make RoleMonitorEventsStale fire in the demo."""
    assert "--shift-to-now" in services()["loader"]["command"]


def test_alertmanager_receivers_post_to_a_compose_service_that_listens() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    urls = [
        hook["url"]
        for receiver in config["receivers"]
        for hook in receiver.get("webhook_configs", [])
    ]
    assert urls
    defined = services()
    for url in urls:
        host, port = host_port(url.removeprefix("http://").split("/", 1)[0])
        assert host in defined, f"{url}: no compose service {host}"
        assert f"{port}" in " ".join(defined[host]["command"]), f"{url}: {host} listens elsewhere"


def test_no_top_level_name_for_docker_compose_1_29() -> None:
    assert "name" not in compose()
    assert "COMPOSE_PROJECT_NAME=role-usage-monitor" in (REPO / ".env").read_text()


def test_docker_compose_1_29_accepts_the_file(tmp_path: Path) -> None:
    """Debian's docker-compose (1.29) parses and validates without a Docker engine."""
    binary = require_binary("docker-compose")
    result = subprocess.run(
        [binary, "--project-directory", str(REPO), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_specification_accepts_the_file() -> None:
    """The compose-spec JSON schema, which compose v2 validates against (check-jsonschema's
    vendored copy: no network)."""
    from check_jsonschema.cli.main_command import main as check_jsonschema

    with pytest.raises(SystemExit) as done:
        check_jsonschema(["--builtin-schema", "vendor.compose-spec", str(COMPOSE)])
    assert done.value.code == 0


def test_the_alert_receiver_really_receives_what_alertmanager_sends(tmp_path: Path) -> None:
    """The real Alertmanager with deploy/alertmanager/alertmanager.yml (receiver host rewritten
    to 127.0.0.1) delivers a critical finding to deploy/alert-receiver/receiver.py."""
    from plugins.prometheus_stack import free_port, get_json, running

    binary = require_binary("prometheus-alertmanager")
    receiver_port, am_port = free_port(), free_port()
    receiver = [sys.executable, str(RECEIVER), str(receiver_port)]
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        ALERTMANAGER_CONFIG.read_text(encoding="utf-8").replace(
            "http://alert-receiver:5001/", f"http://127.0.0.1:{receiver_port}/"
        ),
        encoding="utf-8",
    )
    manager = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
    ]
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    with (
        running(receiver, f"{receiver_url}/healthz", tmp_path / "receiver.log"),
        running(manager, f"http://127.0.0.1:{am_port}/-/ready", tmp_path / "am.log"),
    ):
        alert = {
            "labels": {"alertname": "RoleMonitorBreakGlassAssumed", "severity": "critical",
                       "detector": "break_glass_assumed", "role_account": "222222222222"},
            "annotations": {"summary": "Break-glass role assumed"},
        }  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{am_port}/api/v2/alerts",
            data=json.dumps([alert]).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()

        def delivered() -> set[str]:
            return {entry["receiver"] for entry in get_json(receiver_url)}

        # The pager route's group_wait is 10 s (chat's 30 s: not waited for here).
        deadline = time.monotonic() + 90
        while "pager" not in delivered() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "pager" in delivered()
        assert "RoleMonitorBreakGlassAssumed" in (tmp_path / "receiver.log").read_text()


def test_the_forwarder_is_an_optional_second_service_feeding_the_monitors_topic() -> None:
    forwarder = services()["forwarder"]
    assert forwarder["profiles"] == ["forwarder"]  # needs a real queue: not in the default stack
    assert forwarder["command"][0] == "forward"
    assert forwarder["image"] == services()["monitor"]["image"]
    environment = forwarder["environment"]
    monitor = services()["monitor"]["environment"]
    assert (
        environment["ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS"]
        == (monitor["ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS"])
    )
    assert "ROLE_MONITOR_FORWARD__QUEUE_URL" in environment
    port = environment["ROLE_MONITOR_METRICS__PORT"]
    assert f"{port}:{port}" in forwarder["ports"]
    assert f":{port}/healthz" in " ".join(forwarder["healthcheck"]["test"])
