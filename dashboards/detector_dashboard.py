"""The detectors dashboard: the drill-down per detector (findings, suppression, errors)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as build

from dashboards.panels import (
    bar_gauge_panel,
    by_severity,
    count_stat,
    series_panel,
    sized,
    stacked_bars,
    stat_panel,
    table_panel,
)
from dashboards.promql import SEL, counted, per_interval, per_second
from dashboards.shell import Row, base_variables, dashboard, query_variable
from dashboards.style import DETECTORS_UID, target, thresholds

#: Every query of this dashboard is also scoped by the ``detector`` variable.
DSEL = SEL + ', detector=~"$detector"'
FINDINGS = "role_monitor_findings_total"
SUPPRESSED = "role_monitor_findings_suppressed_total"
ERRORS = "role_monitor_detector_errors_total"


def in_range(metric: str, by: str = "") -> str:
    """What ``metric`` counted over the dashboard's range, summed (``by`` some labels)."""
    head = f"sum by ({by}) " if by else "sum"
    return f"{head}({counted(metric, DSEL, '$__range')})"


def totals() -> Row:
    raised = in_range(FINDINGS)
    dropped = in_range(SUPPRESSED)
    return (
        "Selected detectors, selected range",
        sized(
            6,
            4,
            stat_panel(
                "Findings raised",
                "Findings raised by the selected detectors over the time range.",
                target(raised, "findings", instant=True),
            ).decimals(0),
            stat_panel(
                "Findings suppressed",
                "Findings dropped by a suppression rule or merged into an earlier one by dedup.",
                target(dropped, "suppressed", instant=True),
            ).decimals(0),
            stat_panel(
                "Suppression ratio",
                "Suppressed / (suppressed + raised). Near 1: the detector mostly produces noise "
                "that rules hide; review the suppressions or the detector's settings.",
                target(f"{dropped} / ({dropped} + {raised})", "ratio", instant=True),
                unit="percentunit",
            )
            .thresholds(thresholds((None, "green"), (0.8, "orange"), (0.95, "red")))
            .decimals(1),
            count_stat(
                "Detector errors",
                "Exceptions raised inside the selected detectors over the time range.",
                target(in_range(ERRORS), "errors", instant=True),
                "red",
            ),
        ),
    )


def findings() -> Row:
    per_hour = f"sum by (detector) ({per_second(FINDINGS, DSEL)}) * 3600"
    pairs = f"sum by (detector, severity) ({per_second(FINDINGS, DSEL)}) * 3600"
    split = by_severity(
        bar_gauge_panel(
            "Severity split",
            "Findings of the selected detectors over the time range, by severity.",
            target(in_range(FINDINGS, "severity"), "{{severity}}", instant=True),
        ).decimals(0)
    )
    rate = stacked_bars(
        series_panel(
            "Findings rate by detector",
            "Findings per hour by detector.",
            target(per_hour, "{{detector}}"),
            per="per hour",
        )
    )
    both = series_panel(
        "Findings by detector and severity",
        "Findings per hour for each detector and severity pair.",
        target(pairs, "{{detector}} {{severity}}"),
        per="per hour",
    )
    return ("Findings", [*sized(12, 8, rate, split), *sized(24, 8, both)])


def suppression_and_errors() -> Row:
    reasons = f"sum by (detector, reason) ({per_second(SUPPRESSED, DSEL)}) * 3600"
    errors = f"sum by (detector) ({per_interval(ERRORS, DSEL)})"
    suppressed = stacked_bars(
        series_panel(
            "Suppressed findings by reason",
            "Findings dropped per hour, by detector and suppression reason (a rule's reason, or "
            "dedup).",
            target(reasons, "{{detector}}: {{reason}}"),
            per="per hour",
        )
    )
    failing = stacked_bars(
        series_panel(
            "Detector errors by detector",
            "Exceptions raised inside each detector per interval. The event is still checked "
            "by the other detectors.",
            target(errors, "{{detector}}"),
        )
    )
    summary = table_panel(
        "Per-detector summary",
        "Raised, suppressed and errors per detector over the time range.",
        [in_range(metric, "detector") for metric in (FINDINGS, SUPPRESSED, ERRORS)],
        {
            "detector": "Detector",
            "Value #A": "Raised",
            "Value #B": "Suppressed",
            "Value #C": "Errors",
        },
    )
    return ("Suppression and errors", [*sized(12, 8, suppressed, failing), *sized(24, 8, summary)])


def detectors() -> build.Dashboard:
    detector = query_variable(
        "detector", "Detector", "label_values(role_monitor_findings_total, detector)"
    )
    return dashboard(
        DETECTORS_UID,
        "Role usage: detectors",
        "Drill-down per detector: findings, severity split, suppression and errors.",
        [totals(), findings(), suppression_and_errors()],
        [*base_variables(), detector],
    )
