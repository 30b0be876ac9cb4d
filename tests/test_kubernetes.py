"""deploy/kubernetes/: valid against the Kubernetes schemas, and wired together correctly.

kubernetes-validate bundles the API schemas (no cluster, no network); it cannot know the
Kustomization and ServiceMonitor kinds, so those are checked by their wiring: the monitor's
config must load, every name a manifest refers to must exist, probes must hit real endpoints.
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
NOT_IN_SCHEMAS = {"Kustomization", "ServiceMonitor"}
VERSION = kubernetes_validate.latest_version()


def manifests() -> dict[str, dict[str, Any]]:
    """kind → document (one document per file here)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(FOLDER.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[document["kind"]] = document
    return found


def validated_kinds() -> list[str]:
    return sorted(set(manifests()) - NOT_IN_SCHEMAS)


@pytest.mark.parametrize("kind", validated_kinds())
def test_manifest_is_valid_against_the_kubernetes_schema(kind: str) -> None:
    kubernetes_validate.validate(manifests()[kind], VERSION, strict=True)


def test_the_validator_rejects_a_broken_deployment() -> None:
    broken = copy.deepcopy(manifests()["Deployment"])
    broken["spec"]["replicas"] = "one"
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pth"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(manifests()["Kustomization"]["resources"])
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
