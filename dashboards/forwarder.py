"""The forwarder's row of the overview: is ``role-monitor forward`` keeping the topic fed?

Its metrics (``monitor/service/forwarder_metrics.py``) come from a process of its own, scraped
as a job of its own (``role-usage-forwarder`` in deploy/prometheus/prometheus.yml), so the row
is scoped by the ``forwarder_job`` variable, not by the monitor's ``job`` and ``instance``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as build

from dashboards.panels import (
    Placed,
    count_stat,
    series_panel,
    sized,
    stacked,
    stacked_bars,
    stat_panel,
    up_stat,
)
from dashboards.promql import FORWARDER_SEL, counted, per_interval, per_second
from dashboards.shell import Row, query_variable
from dashboards.style import fixed_color, target, thresholds, up_down

OBJECTS = "role_forwarder_objects_total"
RECORDS = "role_forwarder_records_total"
#: The queue's backlog in seconds: the oldest message of the last receive.
OLDEST = "role_forwarder_oldest_message_age_seconds"


def forwarder_variable() -> build.QueryVariable:
    return query_variable(
        "forwarder_job", "Forwarder job", "label_values(role_forwarder_ready, job)"
    )


def forwarder_row() -> Row:
    return (
        "Forwarder: S3 to Kafka",
        [*sized(4, 4, *forwarder_health(), *forwarder_counts()), *forwarder_flow()],
    )


def forwarder_health() -> list[Placed]:
    return [
        up_stat(
            "Forwarder up",
            "Whether Prometheus can scrape every forwarder instance. No data: no forwarder is "
            "scraped (it is optional).",
            target(f"min(up{{{FORWARDER_SEL}}})", "up"),
            up_down("UP", "DOWN"),
        ).no_value("none"),
        up_stat(
            "Forwarder ready",
            "Whether every forwarder instance's receives from its SQS queue succeed.",
            target(f"min(role_forwarder_ready{{{FORWARDER_SEL}}})", "ready"),
            up_down("READY", "NOT READY"),
        ).no_value("none"),
        stat_panel(
            "Oldest queued message",
            "Age of the oldest SQS notification of the last receive: how far the topic is "
            "behind the trail bucket.",
            target(f"max({OLDEST}{{{FORWARDER_SEL}}})", "age"),
            unit="s",
        ).thresholds(thresholds((None, "green"), (900, "orange"), (1800, "red"))),
    ]


def forwarder_counts() -> list[Placed]:
    failed = FORWARDER_SEL + ', outcome="failed"'
    dead = FORWARDER_SEL + ', outcome="dead_lettered"'
    produced = FORWARDER_SEL + ', outcome="produced"'
    return [
        stat_panel(
            "Records forwarded / s",
            "In-scope CloudTrail records produced to the topic per second.",
            target(f"sum({per_second(RECORDS, produced)})", "records/s"),
        ).decimals(2),
        count_stat(
            "Objects failed (1h)",
            "Log objects that could not be read or produced in the last hour; their messages "
            "stay on the queue and are retried.",
            target(f"sum({counted(OBJECTS, failed, '1h')})", "failed", instant=True),
            "orange",
        ),
        count_stat(
            "Records dead-lettered (1h)",
            "Unreadable records and notifications the forwarder sent to the dead-letter topic "
            "in the last hour.",
            target(f"sum({counted(RECORDS, dead, '1h')})", "dead-lettered", instant=True),
            "orange",
        ),
    ]


def forwarder_flow() -> list[Placed]:
    return [*sized(8, 8, *queue_and_outcomes()), *sized(12, 8, *messages_and_errors())]


def queue_and_outcomes() -> list[Placed]:
    objects = f"sum by (outcome) ({per_second(OBJECTS, FORWARDER_SEL)})"
    records = f"sum by (outcome) ({per_second(RECORDS, FORWARDER_SEL)})"
    return [
        series_panel(
            "Forwarder queue age",
            "Age of the oldest SQS message of each forwarder's last receive. Near zero when the "
            "forwarder keeps up; a steady climb is a backlog or a message that keeps failing.",
            target(f"max by (instance) ({OLDEST}{{{FORWARDER_SEL}}})", "{{instance}}"),
            unit="s",
        ),
        stacked(
            series_panel(
                "Forwarded objects by outcome",
                "S3 objects per second: forwarded; skipped as digest, insight or not "
                "CloudTrail; missing; failed (left on the queue).",
                target(objects, "{{outcome}}"),
                per="per second",
            )
        ).override_by_name("failed", fixed_color("red")),
        stacked(
            series_panel(
                "Forwarded records by outcome",
                "Records of the objects read per second: produced to the topic, out of "
                "scope (not a role assumption), dead-lettered.",
                target(records, "{{outcome}}"),
                per="per second",
            )
        ).override_by_name("dead_lettered", fixed_color("red")),
    ]


def messages_and_errors() -> list[Placed]:
    messages = f"sum by (outcome) ({per_second('role_forwarder_messages_total', FORWARDER_SEL)})"
    errors = f"sum by (stage) ({per_interval('role_forwarder_errors_total', FORWARDER_SEL)})"
    return [
        series_panel(
            "SQS messages by outcome",
            "Notifications per second: deleted once every record was acknowledged, retried "
            "later, unreadable (dead-lettered).",
            target(messages, "{{outcome}}"),
            per="per second",
        ),
        stacked_bars(
            series_panel(
                "Forwarder errors by stage",
                "Failed calls per interval by stage: receive (SQS), fetch (S3), produce "
                "(Kafka), delete (SQS). Each is retried; a steady stream is an outage.",
                target(errors, "{{stage}}"),
            )
        ),
    ]
