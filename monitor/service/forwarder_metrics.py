"""Prometheus metrics of ``role-monitor forward`` (a process of its own, its own registry).

Labels take values from the fixed tuples below only: bucket names, keys and notification
contents never become label values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

OBJECT_OUTCOMES = ("forwarded", "digest", "insight", "not_cloudtrail", "missing", "failed")
RECORD_OUTCOMES = ("produced", "out_of_scope", "dead_lettered")
MESSAGE_OUTCOMES = ("deleted", "retried", "bad_notification")
ERROR_STAGES = ("receive", "fetch", "produce", "delete")


@dataclass
class ForwarderMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        ProcessCollector(registry=r)
        self.objects = Counter(
            "role_forwarder_objects",
            "S3 objects announced, by outcome (forwarded; skipped as digest, insight or not "
            "CloudTrail; missing; failed and left on the queue).",
            ["outcome"],
            registry=r,
        )
        self.records = Counter(
            "role_forwarder_records",
            "Records of the objects read, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.messages = Counter(
            "role_forwarder_messages",
            "SQS messages handled, by outcome (deleted once acknowledged, retried later, "
            "unreadable notifications dead-lettered).",
            ["outcome"],
            registry=r,
        )
        self.errors = Counter(
            "role_forwarder_errors",
            "Failed calls by stage (receive, fetch, produce, delete); each is retried.",
            ["stage"],
            registry=r,
        )
        self.oldest_age = Gauge(
            "role_forwarder_oldest_message_age_seconds",
            "Age of the oldest SQS message of the last receive (0 when the queue was empty): "
            "how far behind the bucket the topic is.",
            registry=r,
        )
        self.extensions = Counter(
            "role_forwarder_visibility_extensions",
            "Visibility-timeout extensions of messages whose objects were still in hand.",
            registry=r,
        )
        self.ready = Gauge(
            "role_forwarder_ready", "1 when /readyz answers 200, else 0.", registry=r
        )
        for labels, values in (
            (self.objects, OBJECT_OUTCOMES),
            (self.records, RECORD_OUTCOMES),
            (self.messages, MESSAGE_OUTCOMES),
            (self.errors, ERROR_STAGES),
        ):
            for value in values:
                labels.labels(value)  # every series exists from the first scrape
