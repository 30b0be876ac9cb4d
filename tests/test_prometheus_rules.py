"""Prometheus rules and configs, and the Alertmanager config, checked by their own tools.

``promtool`` and ``amtool`` come from Debian's prometheus and prometheus-alertmanager packages
(``make test`` installs them). Without them these tests fail in CI (``CI=true``) and skip
elsewhere, so a laptop without the packages can still run the rest of the suite.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from plugins.processes import require_binary

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
DOCS = REPO / "docs" / "dashboards-and-alerts.md"
RUNBOOK_BASE = (
    "https://github.com/role-usage-monitor/role-usage-monitor/blob/main/"
    "docs/dashboards-and-alerts.md#"
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
KINDS = ("health", "security")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=120, check=False, cwd=REPO
    )


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


# ---------------------------------------------------------------------------- promtool / amtool


@pytest.mark.prom
def test_rule_files_are_valid() -> None:
    promtool = require_binary("promtool")
    assert RULE_FILES
    result = run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prom
def test_rule_unit_tests_pass() -> None:
    promtool = require_binary("promtool")
    assert RULE_TESTS
    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.prom
def test_prometheus_config_is_valid() -> None:
    promtool = require_binary("promtool")
    result = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # The config must load the rules under test, not some other file.
    assert all(path.name in result.stdout for path in RULE_FILES), result.stdout


@pytest.mark.prom
def test_alertmanager_config_is_valid() -> None:
    amtool = require_binary("amtool")
    result = run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr


ROUTES = {
    # Findings posted by the monitor's Alertmanager sink.
    "break-glass finding": (
        ["detector=break_glass_assumed", "severity=critical", "role_account=111111111111"],
        "pager,chat",
    ),
    "root session finding": (["detector=root_session", "severity=critical"], "pager,chat"),
    "high finding": (["detector=external_account", "severity=high"], "chat"),
    "medium finding": (["detector=cross_account_first_seen", "severity=medium"], "review"),
    "low finding": (["detector=some_new_detector", "severity=low"], "review"),
    "info finding": (["detector=some_new_detector", "severity=info"], "blackhole"),
    # Prometheus rule alerts.
    "monitor down": (["alertname=RoleMonitorDown", "kind=health", "severity=critical"], "pager"),
    "sink failing": (["alertname=RoleMonitorSinkFailing", "kind=health", "severity=high"], "chat"),
    "dead letters": (
        ["alertname=RoleMonitorDeadLetters", "kind=health", "severity=medium"],
        "chat",
    ),
    "break-glass backstop": (
        ["alertname=RoleMonitorBreakGlassUsed", "kind=security", "severity=critical"],
        "pager,chat",
    ),
    "forwarder down": (
        ["alertname=RoleMonitorForwarderDown", "kind=health", "severity=high"],
        "chat",
    ),
    "forwarder dead letters": (
        ["alertname=RoleMonitorForwarderDeadLetters", "kind=health", "severity=medium"],
        "chat",
    ),
    # Anything unexpected still reaches a human.
    "unlabelled": (["alertname=Unlabelled"], "chat"),
}


@pytest.mark.prom
@pytest.mark.parametrize("case", sorted(ROUTES))
def test_alertmanager_routes(case: str) -> None:
    amtool = require_binary("amtool")
    labels, receivers = ROUTES[case]
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert result.returncode == 0, f"{case}: got {result.stdout.strip()}, want {receivers}"


# ---------------------------------------------------------------------------- rule metadata


def test_every_alert_has_labels_and_annotations() -> None:
    rules = alert_rules()
    assert rules
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        name = rule["alert"]
        assert name.startswith("RoleMonitor"), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["labels"]["kind"] in KINDS, name
        for key in ("summary", "description", "runbook_url"):
            assert rule["annotations"].get(key), f"{name}: no {key}"


def test_every_runbook_url_points_at_a_docs_heading() -> None:
    text = DOCS.read_text(encoding="utf-8")
    anchors = {github_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.+)$", text, re.M)}
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == RUNBOOK_BASE + f"alert-{rule['alert'].lower()}", url
        assert url.split("#", 1)[1] in anchors, f"{rule['alert']}: no heading for {url}"


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts without a firing test"
    assert names - silent == set(), "alerts without a silent test"
    assert (firing | silent) - names == set(), "tests for alerts that do not exist"


def test_github_anchor() -> None:
    assert github_anchor("Alert: RoleMonitorDown") == "alert-rolemonitordown"
    assert github_anchor("Role assumptions / s") == "role-assumptions--s"
