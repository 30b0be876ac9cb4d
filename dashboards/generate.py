"""Generates the Grafana dashboards of this folder; this script is their source of truth.

Edit the panels here, then run ``python dashboards/generate.py`` and commit both the script and
the JSON. ``python dashboards/generate.py --check`` (and tests/test_dashboards.py) fail when the
committed JSON differs from what the script produces. Every panel is described in
docs/dashboards-and-alerts.md under a heading with the panel's title.

The dashboards pick their Prometheus through the ``DS_PROMETHEUS`` variable (the provisioned
data source has uid ``prometheus``), and every query is scoped by the ``job`` and ``instance``
variables.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 39
TAGS = ["role-usage-monitor", "security", "aws"]
DS: dict[str, str] = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SEL = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"
DETECTORS_UID = "role-usage-detectors"
OVERVIEW_UID = "role-usage-overview"

Json = dict[str, Any]

SEVERITY_COLORS = {
    "critical": "dark-red",
    "high": "red",
    "medium": "orange",
    "low": "yellow",
    "info": "blue",
}


# ---------------------------------------------------------------------------- PromQL helpers


def counted(metric: str, selector: str, window: str) -> str:
    """Events counted by ``metric`` within ``window``, per series.

    ``increase()`` cannot see the first increment of a series that did not exist at the start of
    the window (a labelled counter appears at 1), so such a series counts with its whole value.
    """
    series = f"{metric}{{{selector}}}"
    return f"({series} unless {series} offset {window}) or increase({series}[{window}])"


def per_second(metric: str, selector: str = SEL) -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])"


def quantile(q: float, histogram: str, by: str = "le") -> str:
    return f"histogram_quantile({q}, sum by ({by}) ({per_second(histogram + '_bucket')}))"


# ---------------------------------------------------------------------------- panel builders


def target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> Json:
    """A Prometheus query; ``instant`` evaluates it once, at the end of the time range."""
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "refId": ref,
        "format": "time_series",
        "instant": instant,
        "range": not instant,
    }


def thresholds(*steps: tuple[float | None, str]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for value, color in steps],
    }


GREEN_ONLY = thresholds((None, "green"))


def fixed_color(matcher: str, options: str, color: str) -> Json:
    """A field override painting series matched by name (``byName``/``byRegexp``) one colour."""
    return {
        "matcher": {"id": matcher, "options": options},
        "properties": [{"id": "color", "value": {"fixedColor": color, "mode": "fixed"}}],
    }


def severity_overrides() -> list[Json]:
    return [fixed_color("byName", severity, color) for severity, color in SEVERITY_COLORS.items()]


def severity_threshold_overrides() -> list[Json]:
    """Green at zero, the severity's colour from one finding up (for stat panels)."""
    return [
        {
            "matcher": {"id": "byName", "options": severity},
            "properties": [{"id": "thresholds", "value": thresholds((None, "green"), (1, color))}],
        }
        for severity, color in SEVERITY_COLORS.items()
    ]


def state_mapping(ok: str, bad: str) -> list[Json]:
    return [
        {
            "type": "value",
            "options": {
                "0": {"color": "red", "index": 0, "text": bad},
                "1": {"color": "green", "index": 1, "text": ok},
            },
        }
    ]


def stat(
    title: str,
    description: str,
    targets: list[Json],
    *,
    unit: str = "short",
    steps: Json = GREEN_ONLY,
    mappings: list[Json] | None = None,
    overrides: list[Json] | None = None,
    decimals: int | None = None,
    links: list[Json] | None = None,
) -> Json:
    defaults: Json = {
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": steps,
        "unit": unit,
        "noValue": "0",
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    if links:
        defaults["links"] = links
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": "auto",
            "wideLayout": True,
        },
    }


def timeseries(
    title: str,
    description: str,
    targets: list[Json],
    *,
    unit: str = "short",
    stacked: bool = False,
    bars: bool = False,
    overrides: list[Json] | None = None,
    links: list[Json] | None = None,
    axis_label: str = "",
) -> Json:
    custom: Json = {
        "axisLabel": axis_label,
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 60 if bars else (30 if stacked else 10),
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stacked else "none"},
    }
    defaults: Json = {
        "color": {"mode": "palette-classic"},
        "custom": custom,
        "thresholds": GREEN_ONLY,
        "unit": unit,
        "min": 0,
    }
    if links:
        defaults["links"] = links
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {
                "calcs": ["max", "lastNotNull"],
                "displayMode": "table",
                "placement": "right",
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def table(title: str, description: str, targets: list[Json], *, renames: Json) -> Json:
    """Instant queries in table format, merged on their labels into one table."""
    targets = [{**t, "format": "table", "instant": True, "range": False} for t in targets]
    return {
        "type": "table",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": {"custom": {"align": "auto"}, "thresholds": GREEN_ONLY, "unit": "short"},
            "overrides": [],
        },
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        "transformations": [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {"excludeByName": {"Time": True}, "renameByName": renames},
            },
        ],
    }


def state_timeline(title: str, description: str, targets: list[Json], ok: str, bad: str) -> Json:
    return {
        "type": "state-timeline",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "mappings": state_mapping(ok, bad),
                "thresholds": thresholds((None, "red"), (1, "green")),
            },
            "overrides": [],
        },
        "options": {"showValue": "auto", "mergeValues": True, "rowHeight": 0.8},
    }


def drilldown_link(*, per_detector: bool = True) -> Json:
    """A data link to the detectors dashboard, for the clicked series' detector or all."""
    detector = "var-detector=${__field.labels.detector}&" if per_detector else ""
    return {
        "title": "Detector drill-down",
        "url": f"/d/{DETECTORS_UID}/role-usage-detectors?{detector}"
        "${job:queryparam}&${instance:queryparam}&${__url_time_range}",
    }


@dataclass
class Layout:
    """Places panels left to right on Grafana's 24-column grid, one row band at a time."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    band: int = 0

    def row(self, title: str) -> None:
        self._newline()
        self._place({"type": "row", "title": title, "collapsed": False, "panels": []}, 24, 1)
        self._newline()

    def add(self, panel: Json, w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        self._place(panel, w, h)

    def _place(self, panel: Json, w: int, h: int) -> None:
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.band = max(self.band, h)

    def _newline(self) -> None:
        if self.x:
            self.y += self.band
        self.x, self.band = 0, 0


# ---------------------------------------------------------------------------- dashboard shell


def variable_query(name: str, label: str, query: str, *, multi: bool = True) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "includeAll": True,
        "multi": multi,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
        "options": [],
        "regex": "",
    }


def base_variables() -> list[Json]:
    return [
        {
            "type": "datasource",
            "name": "DS_PROMETHEUS",
            "label": "Data source",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        },
        variable_query("job", "Job", "label_values(role_monitor_ready, job)"),
        variable_query(
            "instance", "Instance", 'label_values(role_monitor_ready{job=~"$job"}, instance)'
        ),
    ]


def break_glass_annotation() -> Json:
    findings = 'role_monitor_findings_total{detector="break_glass_assumed", ' + SEL + "}"
    return {
        "name": "Break-glass role assumed",
        "datasource": DS,
        "enable": True,
        "hide": False,
        "iconColor": "red",
        "expr": f"sum by (instance) (increase({findings}[2m]) > 0 "
        f"or ({findings} unless {findings} offset 2m))",
        "step": "1m",
        "titleFormat": "Break-glass role assumed",
        "textFormat": "{{instance}}: a break_glass_assumed finding; the finding names the role",
        "tagKeys": "instance",
        "useValueForTime": False,
    }


def dashboard(
    uid: str, title: str, description: str, panels: list[Json], variables: list[Json]
) -> Json:
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                break_glass_annotation(),
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "type": "dashboards",
                "tags": ["role-usage-monitor"],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
                "title": "Role usage",
            }
        ],
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": TAGS,
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


# ---------------------------------------------------------------------------- the dashboards


def overview() -> Json:
    lay = Layout()
    assumptions = "role_monitor_assumptions_total"
    findings = "role_monitor_findings_total"

    failed = SEL + ', result!="success"'
    break_glass = SEL + ', detector="break_glass_assumed"'

    lay.row("Is role usage normal?")
    lay.add(
        stat(
            "Role assumptions / s",
            "STS role-assumption calls processed per second, all calls and results.",
            [target(f"sum({per_second(assumptions)})", "assumptions/s")],
            unit="short",
            decimals=2,
        ),
        4,
        4,
    )
    lay.add(
        stat(
            "Failed assumptions",
            "Share of role assumptions that failed (access denied, invalid token, ...).",
            [
                target(
                    f"sum({per_second(assumptions, failed)}) / sum({per_second(assumptions)})",
                    "failed",
                )
            ],
            unit="percentunit",
            steps=thresholds((None, "green"), (0.05, "orange"), (0.2, "red")),
            decimals=1,
        ),
        3,
        4,
    )
    lay.add(
        stat(
            "Findings in the last hour",
            "Findings raised in the last hour, by severity.",
            [
                target(
                    f"sum by (severity) ({counted(findings, SEL, '1h')})",
                    "{{severity}}",
                    instant=True,
                )
            ],
            overrides=severity_threshold_overrides(),
            steps=thresholds((None, "green")),
            decimals=0,
            links=[drilldown_link(per_detector=False)],
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "Break-glass uses (24h)",
            "Successful assumptions of a break-glass role in the last 24 hours (detector "
            "break_glass_assumed). Anything above 0 must have an owner and a reason.",
            [
                target(
                    f"sum({counted(findings, break_glass, '24h')})",
                    "break-glass",
                    instant=True,
                )
            ],
            steps=thresholds((None, "green"), (1, "red")),
            decimals=0,
        ),
        3,
        4,
    )
    lay.add(
        stat(
            "Monitor up",
            "Whether Prometheus can scrape every selected monitor instance.",
            [target('min(up{job=~"$job", instance=~"$instance"})', "up")],
            mappings=state_mapping("UP", "DOWN"),
            steps=thresholds((None, "red"), (1, "green")),
        ),
        2,
        4,
    )
    lay.add(
        stat(
            "Ready",
            "Whether every selected instance has partitions assigned and role metadata loaded.",
            [target(f"min(role_monitor_ready{{{SEL}}})", "ready")],
            mappings=state_mapping("READY", "NOT READY"),
            steps=thresholds((None, "red"), (1, "green")),
        ),
        2,
        4,
    )
    lay.add(
        stat(
            "Newest event age",
            "Wall-clock time since the CloudTrail eventTime of the newest processed event.",
            [target(f"time() - max(role_monitor_last_event_timestamp_seconds{{{SEL}}})", "age")],
            unit="s",
            steps=thresholds((None, "green"), (900, "orange"), (1800, "red")),
        ),
        4,
        4,
    )

    lay.row("Role assumptions")
    lay.add(
        timeseries(
            "Assumptions by caller category",
            "Who assumes roles: same account, organization, vendor, external, SAML, web "
            "identity, AWS service, root.",
            [target(f"sum by (category) ({per_second(assumptions)})", "{{category}}")],
            unit="short",
            stacked=True,
            axis_label="per second",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Assumptions by STS call and result",
            "AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity, AssumeRoot, ... by result.",
            [
                target(
                    f"sum by (event_name, result) ({per_second(assumptions)})",
                    "{{event_name}} {{result}}",
                )
            ],
            unit="short",
            axis_label="per second",
        ),
        12,
        8,
    )

    lay.row("Cross-account and federation")
    cross = SEL + ', category=~"organization|vendor|external"'
    federated = SEL + ', category=~"saml|web_identity"'
    lay.add(
        timeseries(
            "Cross-account assumptions",
            "Assumptions whose caller is in another account: organization member, trusted "
            "vendor, or unknown external account.",
            [
                target(
                    f"sum by (category, result) ({per_second(assumptions, cross)})",
                    "{{category}} {{result}}",
                )
            ],
            unit="short",
            axis_label="per second",
            overrides=[fixed_color("byRegexp", "^external.*", "red")],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Federated assumptions",
            "AssumeRoleWithSAML and AssumeRoleWithWebIdentity by result.",
            [
                target(
                    f"sum by (category, event_name, result) ({per_second(assumptions, federated)})",
                    "{{category}} {{event_name}} {{result}}",
                )
            ],
            unit="short",
            axis_label="per second",
        ),
        12,
        8,
    )

    lay.row("Findings")
    lay.add(
        timeseries(
            "Findings by detector",
            "Findings per hour by detector (after suppression and dedup). Click a series to "
            "open the detector drill-down.",
            [target(f"sum by (detector) ({per_second(findings)}) * 3600", "{{detector}}")],
            bars=True,
            stacked=True,
            axis_label="per hour",
            links=[drilldown_link()],
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Findings by severity",
            "Findings per hour by severity.",
            [target(f"sum by (severity) ({per_second(findings)}) * 3600", "{{severity}}")],
            bars=True,
            stacked=True,
            axis_label="per hour",
            overrides=severity_overrides(),
        ),
        12,
        8,
    )
    lay.add(
        table(
            "Findings in the selected range",
            "Findings per detector and severity over the dashboard's time range.",
            [
                target(
                    f"sum by (detector, severity) ({counted(findings, SEL, '$__range')})",
                    "",
                    instant=True,
                )
            ],
            renames={"detector": "Detector", "severity": "Severity", "Value": "Findings"},
        ),
        24,
        7,
    )

    lay.row("Pipeline")
    lay.add(
        timeseries(
            "Consumer lag",
            "Records between the committed offset and the end of each assigned partition.",
            [
                target(
                    f"sum by (topic, partition) (role_monitor_consumer_lag{{{SEL}}})",
                    "{{topic}}/{{partition}}",
                )
            ],
            unit="short",
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Event age",
            "Wall-clock time minus CloudTrail eventTime when events were processed: CloudTrail "
            "delivery delay plus the monitor's own backlog.",
            [
                target(quantile(0.5, "role_monitor_event_age_seconds"), "p50", "A"),
                target(quantile(0.9, "role_monitor_event_age_seconds"), "p90", "B"),
                target(quantile(0.99, "role_monitor_event_age_seconds"), "p99", "C"),
            ],
            unit="s",
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Records by outcome",
            "Input records per second: processed, skipped (not a role assumption), rejected, "
            "duplicate.",
            [
                target(
                    f"sum by (outcome) ({per_second('role_monitor_records_total')})", "{{outcome}}"
                )
            ],
            unit="short",
            stacked=True,
            axis_label="per second",
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Dead letters by reason",
            "Inputs that could not be decoded and went to the dead-letter topic.",
            [
                target(
                    f"sum by (reason) (increase(role_monitor_dead_letters_total{{{SEL}}}[{RATE}]))",
                    "{{reason}}",
                )
            ],
            bars=True,
            stacked=True,
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "Processing time per message",
            "Time from decode to delivery for one input message.",
            [
                target(quantile(0.5, "role_monitor_processing_seconds"), "p50", "A"),
                target(quantile(0.99, "role_monitor_processing_seconds"), "p99", "B"),
            ],
            unit="s",
        ),
        8,
        8,
    )
    lay.add(
        timeseries(
            "State store rows",
            "Rows in each table of the monitor's SQLite state (first-seen pairs, dedup keys, ...).",
            [target(f"sum by (table) (role_monitor_state_rows{{{SEL}}})", "{{table}}")],
            unit="short",
        ),
        8,
        8,
    )

    lay.row("Alert delivery and enrichment")
    lay.add(
        state_timeline(
            "Sink health",
            "Whether each alert sink's last delivery succeeded.",
            [target(f"max by (sink) (role_monitor_sink_up{{{SEL}}})", "{{sink}}")],
            "up",
            "failing",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Alert deliveries by sink and outcome",
            "Deliveries per second by sink: delivered, retried, failed.",
            [
                target(
                    f"sum by (sink, outcome) ({per_second('role_monitor_alerts_total')})",
                    "{{sink}} {{outcome}}",
                )
            ],
            unit="short",
            axis_label="per second",
            overrides=[fixed_color("byRegexp", ".* failed$", "red")],
        ),
        12,
        8,
    )
    lookups = "role_monitor_enrichment_lookups_total"
    lay.add(
        timeseries(
            "Role metadata lookups",
            "Role metadata lookups per second by source (snapshot, iam, cache) and outcome.",
            [
                target(
                    f"sum by (source, outcome) ({per_second(lookups)})",
                    "{{source}} {{outcome}}",
                )
            ],
            unit="short",
            axis_label="per second",
        ),
        12,
        8,
    )
    lay.add(
        table(
            "Monitor build",
            "Version of each running monitor instance.",
            [target(f"role_monitor_build_info{{{SEL}}}", "", instant=True)],
            renames={"Value": "Count"},
        ),
        12,
        8,
    )
    return dashboard(
        OVERVIEW_UID,
        "Role usage: overview",
        "Is role usage normal? STS role assumptions, findings and the monitor's own health.",
        lay.panels,
        base_variables(),
    )


def detectors() -> Json:
    lay = Layout()
    dsel = SEL + ', detector=~"$detector"'
    findings = "role_monitor_findings_total"
    suppressed = "role_monitor_findings_suppressed_total"
    errors = "role_monitor_detector_errors_total"
    raised = f"sum({counted(findings, dsel, '$__range')})"
    dropped = f"sum({counted(suppressed, dsel, '$__range')})"

    lay.row("Selected detectors, selected range")
    lay.add(
        stat(
            "Findings raised",
            "Findings raised by the selected detectors over the time range.",
            [target(raised, "findings", instant=True)],
            decimals=0,
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "Findings suppressed",
            "Findings dropped by a suppression rule or merged into an earlier one by dedup.",
            [target(dropped, "suppressed", instant=True)],
            decimals=0,
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "Suppression ratio",
            "Suppressed / (suppressed + raised). Near 1: the detector mostly produces noise that "
            "rules hide; review the suppressions or the detector's settings.",
            [target(f"{dropped} / ({dropped} + {raised})", "ratio", instant=True)],
            unit="percentunit",
            steps=thresholds((None, "green"), (0.8, "orange"), (0.95, "red")),
            decimals=1,
        ),
        6,
        4,
    )
    lay.add(
        stat(
            "Detector errors",
            "Exceptions raised inside the selected detectors over the time range.",
            [target(f"sum({counted(errors, dsel, '$__range')})", "errors", instant=True)],
            steps=thresholds((None, "green"), (1, "red")),
            decimals=0,
        ),
        6,
        4,
    )

    lay.row("Findings")
    lay.add(
        timeseries(
            "Findings rate by detector",
            "Findings per hour by detector.",
            [target(f"sum by (detector) ({per_second(findings, dsel)}) * 3600", "{{detector}}")],
            bars=True,
            stacked=True,
            axis_label="per hour",
        ),
        12,
        8,
    )
    lay.add(
        {
            **stat(
                "Severity split",
                "Findings of the selected detectors over the time range, by severity.",
                [
                    target(
                        f"sum by (severity) ({counted(findings, dsel, '$__range')})",
                        "{{severity}}",
                        instant=True,
                    )
                ],
                overrides=severity_overrides(),
                decimals=0,
            ),
            "type": "bargauge",
            "options": {
                "displayMode": "basic",
                "orientation": "horizontal",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showUnfilled": True,
                "valueMode": "color",
            },
        },
        12,
        8,
    )
    lay.add(
        timeseries(
            "Findings by detector and severity",
            "Findings per hour for each detector and severity pair.",
            [
                target(
                    f"sum by (detector, severity) ({per_second(findings, dsel)}) * 3600",
                    "{{detector}} {{severity}}",
                )
            ],
            axis_label="per hour",
        ),
        24,
        8,
    )

    lay.row("Suppression and errors")
    lay.add(
        timeseries(
            "Suppressed findings by reason",
            "Findings dropped per hour, by detector and suppression reason (a rule's reason, or "
            "dedup).",
            [
                target(
                    f"sum by (detector, reason) ({per_second(suppressed, dsel)}) * 3600",
                    "{{detector}}: {{reason}}",
                )
            ],
            bars=True,
            stacked=True,
            axis_label="per hour",
        ),
        12,
        8,
    )
    lay.add(
        timeseries(
            "Detector errors by detector",
            "Exceptions raised inside each detector per interval. The event is still checked by "
            "the other detectors.",
            [
                target(
                    f"sum by (detector) (increase({errors}{{{dsel}}}[{RATE}]))",
                    "{{detector}}",
                )
            ],
            bars=True,
            stacked=True,
        ),
        12,
        8,
    )
    lay.add(
        table(
            "Per-detector summary",
            "Raised, suppressed and errors per detector over the time range.",
            [
                target(
                    f"sum by (detector) ({counted(findings, dsel, '$__range')})",
                    "",
                    "A",
                    instant=True,
                ),
                target(
                    f"sum by (detector) ({counted(suppressed, dsel, '$__range')})",
                    "",
                    "B",
                    instant=True,
                ),
                target(
                    f"sum by (detector) ({counted(errors, dsel, '$__range')})",
                    "",
                    "C",
                    instant=True,
                ),
            ],
            renames={
                "detector": "Detector",
                "Value #A": "Raised",
                "Value #B": "Suppressed",
                "Value #C": "Errors",
            },
        ),
        24,
        8,
    )
    variables = [
        *base_variables(),
        variable_query(
            "detector", "Detector", "label_values(role_monitor_findings_total, detector)"
        ),
    ]
    return dashboard(
        DETECTORS_UID,
        "Role usage: detectors",
        "Drill-down per detector: findings, severity split, suppression and errors.",
        lay.panels,
        variables,
    )


DASHBOARDS = {
    "role-usage-overview.json": overview,
    "role-usage-detectors.json": detectors,
}


def render() -> dict[str, str]:
    """File name -> the exact JSON text committed for it."""
    return {name: json.dumps(build(), indent=2) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    if stale:
        print(f"stale: {', '.join(stale)}; run python dashboards/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
