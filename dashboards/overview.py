"""The overview dashboard: is role usage normal, and are the monitor and its forwarder healthy?"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as build
from grafana_foundation_sdk.builders import stat, table

from dashboards.forwarder import forwarder_row, forwarder_variable
from dashboards.panels import (
    Placed,
    by_severity,
    count_stat,
    series_panel,
    sized,
    stacked,
    stacked_bars,
    stat_panel,
    table_panel,
    timeline_panel,
    up_stat,
)
from dashboards.promql import SEL, counted, per_interval, per_second, quantile
from dashboards.shell import Row, base_variables, dashboard
from dashboards.style import (
    OVERVIEW_UID,
    SEVERITY_COLORS,
    drilldown_link,
    fixed_color,
    from_one,
    target,
    thresholds,
    up_down,
)

ASSUMPTIONS = "role_monitor_assumptions_total"
FINDINGS = "role_monitor_findings_total"


def usage_stats() -> Row:
    failed = SEL + ', result!="success"'
    share = f"sum({per_second(ASSUMPTIONS, failed)}) / sum({per_second(ASSUMPTIONS)})"
    return (
        "Is role usage normal?",
        [
            stat_panel(
                "Role assumptions / s",
                "STS role-assumption calls processed per second, all calls and results.",
                target(f"sum({per_second(ASSUMPTIONS)})", "assumptions/s"),
            )
            .decimals(2)
            .span(4)
            .height(4),
            stat_panel(
                "Failed assumptions",
                "Share of role assumptions that failed (access denied, invalid token, ...).",
                target(share, "failed"),
                unit="percentunit",
            )
            .thresholds(thresholds((None, "green"), (0.05, "orange"), (0.2, "red")))
            .decimals(1)
            .span(3)
            .height(4),
            recent_findings().span(6).height(4),
            break_glass_uses().span(3).height(4),
            *monitor_health(),
        ],
    )


def recent_findings() -> stat.Panel:
    """Last hour's findings by severity, each green at zero and its colour from one."""
    panel = stat_panel(
        "Findings in the last hour",
        "Findings raised in the last hour, by severity.",
        target(f"sum by (severity) ({counted(FINDINGS, SEL, '1h')})", "{{severity}}", instant=True),
    )
    for severity, color in SEVERITY_COLORS.items():
        panel.override_by_name(severity, from_one(color))
    return panel.decimals(0).data_links([drilldown_link(per_detector=False)])


def break_glass_uses() -> stat.Panel:
    break_glass = SEL + ', detector="break_glass_assumed"'
    return count_stat(
        "Break-glass uses (24h)",
        "Successful assumptions of a break-glass role in the last 24 hours (detector "
        "break_glass_assumed). Anything above 0 must have an owner and a reason.",
        target(f"sum({counted(FINDINGS, break_glass, '24h')})", "break-glass", instant=True),
        "red",
    )


def monitor_health() -> list[Placed]:
    newest = f"time() - max(role_monitor_last_event_timestamp_seconds{{{SEL}}})"
    return [
        up_stat(
            "Monitor up",
            "Whether Prometheus can scrape every selected monitor instance.",
            target(f"min(up{{{SEL}}})", "up"),
            up_down("UP", "DOWN"),
        )
        .span(2)
        .height(4),
        up_stat(
            "Ready",
            "Whether every selected instance has partitions assigned and role metadata loaded.",
            target(f"min(role_monitor_ready{{{SEL}}})", "ready"),
            up_down("READY", "NOT READY"),
        )
        .span(2)
        .height(4),
        stat_panel(
            "Newest event age",
            "Wall-clock time since the CloudTrail eventTime of the newest processed event.",
            target(newest, "age"),
            unit="s",
        )
        .thresholds(thresholds((None, "green"), (900, "orange"), (1800, "red")))
        .span(4)
        .height(4),
    ]


def assumptions() -> Row:
    by_call = f"sum by (event_name, result) ({per_second(ASSUMPTIONS)})"
    return (
        "Role assumptions",
        [
            stacked(
                series_panel(
                    "Assumptions by caller category",
                    "Who assumes roles: same account, organization, vendor, external, SAML, web "
                    "identity, AWS service, root.",
                    target(f"sum by (category) ({per_second(ASSUMPTIONS)})", "{{category}}"),
                    per="per second",
                )
            )
            .span(12)
            .height(8),
            series_panel(
                "Assumptions by STS call and result",
                "AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity, AssumeRoot, ... by "
                "result.",
                target(by_call, "{{event_name}} {{result}}"),
                per="per second",
            )
            .span(12)
            .height(8),
        ],
    )


def cross_account() -> Row:
    cross = SEL + ', category=~"organization|vendor|external"'
    federated = SEL + ', category=~"saml|web_identity"'
    by_result = f"sum by (category, result) ({per_second(ASSUMPTIONS, cross)})"
    by_call = f"sum by (category, event_name, result) ({per_second(ASSUMPTIONS, federated)})"
    return (
        "Cross-account and federation",
        [
            series_panel(
                "Cross-account assumptions",
                "Assumptions whose caller is in another account: organization member, trusted "
                "vendor, or unknown external account.",
                target(by_result, "{{category}} {{result}}"),
                per="per second",
            )
            .override_by_regexp("^external.*", fixed_color("red"))
            .span(12)
            .height(8),
            series_panel(
                "Federated assumptions",
                "AssumeRoleWithSAML and AssumeRoleWithWebIdentity by result.",
                target(by_call, "{{category}} {{event_name}} {{result}}"),
                per="per second",
            )
            .span(12)
            .height(8),
        ],
    )


def findings() -> Row:
    per_hour = f"sum by (detector) ({per_second(FINDINGS)}) * 3600"
    by_severity_per_hour = f"sum by (severity) ({per_second(FINDINGS)}) * 3600"
    return (
        "Findings",
        [
            stacked_bars(
                series_panel(
                    "Findings by detector",
                    "Findings per hour by detector (after suppression and dedup). Click a series "
                    "to open the detector drill-down.",
                    target(per_hour, "{{detector}}"),
                    per="per hour",
                )
            )
            .data_links([drilldown_link()])
            .span(12)
            .height(8),
            by_severity(
                stacked_bars(
                    series_panel(
                        "Findings by severity",
                        "Findings per hour by severity.",
                        target(by_severity_per_hour, "{{severity}}"),
                        per="per hour",
                    )
                )
            )
            .span(12)
            .height(8),
            findings_table().span(24).height(7),
        ],
    )


def findings_table() -> table.Panel:
    in_range = f"sum by (detector, severity) ({counted(FINDINGS, SEL, '$__range')})"
    return table_panel(
        "Findings in the selected range",
        "Findings per detector and severity over the dashboard's time range.",
        [in_range],
        {"detector": "Detector", "severity": "Severity", "Value": "Findings"},
    )


def pipeline() -> Row:
    return ("Pipeline", sized(8, 8, *intake(), *processing()))


def intake() -> list[Placed]:
    event_age = "role_monitor_event_age_seconds"
    lag = f"sum by (topic, partition) (role_monitor_consumer_lag{{{SEL}}})"
    outcomes = f"sum by (outcome) ({per_second('role_monitor_records_total')})"
    return [
        series_panel(
            "Consumer lag",
            "Records between the committed offset and the end of each assigned partition.",
            target(lag, "{{topic}}/{{partition}}"),
        ),
        series_panel(
            "Event age",
            "Wall-clock time minus CloudTrail eventTime when events were processed: CloudTrail "
            "delivery delay plus the monitor's own backlog.",
            target(quantile(0.5, event_age), "p50", "A"),
            target(quantile(0.9, event_age), "p90", "B"),
            target(quantile(0.99, event_age), "p99", "C"),
            unit="s",
        ),
        stacked(
            series_panel(
                "Records by outcome",
                "Input records per second: processed, skipped (not a role assumption), rejected, "
                "duplicate.",
                target(outcomes, "{{outcome}}"),
                per="per second",
            )
        ),
    ]


def processing() -> list[Placed]:
    seconds = "role_monitor_processing_seconds"
    dead = f"sum by (reason) ({per_interval('role_monitor_dead_letters_total')})"
    return [
        stacked_bars(
            series_panel(
                "Dead letters by reason",
                "Inputs that could not be decoded and went to the dead-letter topic.",
                target(dead, "{{reason}}"),
            )
        ),
        series_panel(
            "Processing time per message",
            "Time from decode to delivery for one input message.",
            target(quantile(0.5, seconds), "p50", "A"),
            target(quantile(0.99, seconds), "p99", "B"),
            unit="s",
        ),
        series_panel(
            "State store rows",
            "Rows in each table of the monitor's SQLite state (first-seen pairs, dedup keys, ...).",
            target(f"sum by (table) (role_monitor_state_rows{{{SEL}}})", "{{table}}"),
        ),
    ]


def delivery() -> Row:
    deliveries = f"sum by (sink, outcome) ({per_second('role_monitor_alerts_total')})"
    lookups = f"sum by (source, outcome) ({per_second('role_monitor_enrichment_lookups_total')})"
    return (
        "Alert delivery and enrichment",
        sized(
            12,
            8,
            timeline_panel(
                "Sink health",
                "Whether each alert sink's last delivery succeeded.",
                target(f"max by (sink) (role_monitor_sink_up{{{SEL}}})", "{{sink}}"),
                up_down("up", "failing"),
            ),
            series_panel(
                "Alert deliveries by sink and outcome",
                "Deliveries per second by sink: delivered, retried, failed.",
                target(deliveries, "{{sink}} {{outcome}}"),
                per="per second",
            ).override_by_regexp(".* failed$", fixed_color("red")),
            series_panel(
                "Role metadata lookups",
                "Role metadata lookups per second by source (snapshot, iam, cache) and outcome.",
                target(lookups, "{{source}} {{outcome}}"),
                per="per second",
            ),
            table_panel(
                "Monitor build",
                "Version of each running monitor instance.",
                [f"role_monitor_build_info{{{SEL}}}"],
                {"Value": "Count"},
            ),
        ),
    )


def overview() -> build.Dashboard:
    rows = [usage_stats(), assumptions(), cross_account(), findings(), pipeline(), delivery()]
    return dashboard(
        OVERVIEW_UID,
        "Role usage: overview",
        "Is role usage normal? STS role assumptions, findings and the monitor's own health.",
        [*rows, forwarder_row()],
        [*base_variables(), forwarder_variable()],
    )
