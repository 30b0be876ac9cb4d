"""deploy/kubernetes/: valid against the Kubernetes schemas, and wired together correctly.

kubernetes-validate bundles the API schemas (no cluster, no network); it cannot know the
Kustomization, ServiceMonitor and PodMonitor kinds, so those are checked by their wiring: the
monitor's config must load, every name a manifest refers to must exist, probes must hit real
endpoints.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from monitor.config.settings import load_config

FOLDER = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes"
#: Kinds the bundled schemas do not cover (a kustomize file, a Prometheus Operator CRD).
NOT_IN_SCHEMAS = {"Kustomization", "ServiceMonitor", "PodMonitor"}
VERSION = kubernetes_validate.latest_version()


def documents() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(FOLDER.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
    ]


def _is_forwarder(document: dict[str, Any]) -> bool:
    labels = document.get("metadata", {}).get("labels", {})
    return bool(labels.get("app.kubernetes.io/component") == "forwarder")


def manifests() -> dict[str, dict[str, Any]]:
    """kind → the monitor's document of that kind."""
    return {d["kind"]: d for d in documents() if not _is_forwarder(d)}


def forwarder_manifests() -> dict[str, dict[str, Any]]:
    """kind → the forwarder's document of that kind (deploy/kubernetes/forwarder.yaml)."""
    return {d["kind"]: d for d in documents() if _is_forwarder(d)}


def validated_kinds() -> list[str]:
    return sorted(set(manifests()) - NOT_IN_SCHEMAS)


@pytest.mark.parametrize("kind", validated_kinds())
def test_manifest_is_valid_against_the_kubernetes_schema(kind: str) -> None:
    kubernetes_validate.validate(manifests()[kind], VERSION, strict=True)


@pytest.mark.parametrize("kind", sorted(set(forwarder_manifests()) - NOT_IN_SCHEMAS))
def test_forwarder_manifest_is_valid_against_the_kubernetes_schema(kind: str) -> None:
    kubernetes_validate.validate(forwarder_manifests()[kind], VERSION, strict=True)


def test_the_validator_rejects_a_broken_deployment() -> None:
    broken = copy.deepcopy(manifests()["Deployment"])
    broken["spec"]["replicas"] = "one"
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pth"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(manifests()["Kustomization"]["resources"])
    assert "forwarder.yaml" in listed
    present = {p.name for p in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present


def container() -> dict[str, Any]:
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    (only,) = pod["containers"]
    result: dict[str, Any] = only
    return result


def test_the_pod_runs_unprivileged() -> None:
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container()["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    resources = container()["resources"]
    assert resources["requests"]["cpu"] and resources["limits"]["memory"]


def test_probes_use_the_monitor_endpoints_on_the_metrics_port() -> None:
    ports = {port["name"]: port["containerPort"] for port in container()["ports"]}
    paths = {}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        http = container()[probe]["httpGet"]
        assert http["port"] in ports
        paths[probe] = http["path"]
    assert paths["livenessProbe"] == "/healthz" and paths["readinessProbe"] == "/readyz"


def test_service_and_service_monitor_select_the_pods() -> None:
    docs = manifests()
    pod_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service = docs["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    container_ports = {port["name"] for port in container()["ports"]}
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= container_ports
    monitor = docs["ServiceMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= service_ports
    # the alert rules select job="role-usage-monitor"
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "role-usage-monitor"


def test_the_configured_monitor_loads_with_the_secret_and_keeps_state_on_the_claim(
    tmp_path: Path,
) -> None:
    docs = manifests()
    config = tmp_path / "config.yaml"
    config.write_text(docs["ConfigMap"]["data"]["config.yaml"], encoding="utf-8")
    environment = docs["Secret"]["stringData"]
    loaded = load_config(config, environ=environment)
    assert not loaded.warnings
    settings = loaded.settings
    assert settings.alerts.webhook and len(settings.alerts.webhook) == 2
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["state"]["persistentVolumeClaim"]["claimName"]
    assert claim == docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert settings.state.path.startswith(mounts["state"] + "/")
    assert settings.metrics.port == next(p["containerPort"] for p in container()["ports"])
    assert volumes["config"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    assert container()["args"][-1] == f"{mounts['config']}/config.yaml"
    secret_ref = container()["envFrom"][0]["secretRef"]["name"]
    assert secret_ref == docs["Secret"]["metadata"]["name"]


def test_the_forwarder_loads_runs_unprivileged_and_is_probed_on_its_endpoints(
    tmp_path: Path,
) -> None:
    docs = forwarder_manifests()
    config = tmp_path / "config.yaml"
    config.write_text(docs["ConfigMap"]["data"]["config.yaml"], encoding="utf-8")
    loaded = load_config(config, environ={})
    assert not loaded.warnings
    settings = loaded.settings
    assert settings.forward.queue_url and settings.kafka.topics == ["cloudtrail"]
    pod = docs["Deployment"]["spec"]["template"]
    (only,) = pod["spec"]["containers"]
    assert only["args"][:1] == ["forward"]
    assert only["args"][-1].endswith("/config.yaml")
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert only["securityContext"]["readOnlyRootFilesystem"] is True
    ports = {port["name"]: port["containerPort"] for port in only["ports"]}
    assert settings.metrics.port == ports["metrics"]
    assert only["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert only["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["spec"]["serviceAccountName"] == docs["ServiceAccount"]["metadata"]["name"]
    # The monitor's Service must not select forwarder pods.
    service = manifests()["Service"]["spec"]["selector"]
    assert not service.items() <= pod["metadata"]["labels"].items()


def test_the_forwarder_pods_are_scraped_as_the_job_its_alert_rules_select() -> None:
    docs = forwarder_manifests()
    pod = docs["Deployment"]["spec"]["template"]
    monitor = docs["PodMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (only,) = pod["spec"]["containers"]
    ports = {port["name"] for port in only["ports"]}
    assert {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]} <= ports
    # deploy/prometheus/rules/role-monitor.yml: job="role-usage-forwarder"
    assert pod["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "role-usage-forwarder"
