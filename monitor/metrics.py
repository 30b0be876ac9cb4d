"""Prometheus metrics of the monitor.

The registry is passed in, so tests build a fresh one and read values back with
``registry.get_sample_value``. Every label takes values from a small fixed set: nothing an
attacker controls (ARNs, session names, IPs, user agents) ever becomes a label value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.aws.accounts import Rung

RECORD_OUTCOMES = ("processed", "skipped", "rejected", "duplicate")
ASSUMPTION_CATEGORIES = (
    *(rung.value for rung in Rung),  # same_account, organization, vendor, external
    "saml",
    "web_identity",
    "service",
    "root",
    "unknown",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
DEAD_LETTER_REASONS = (
    "invalid_json",
    "invalid_gzip",
    "unknown_envelope",
    "not_an_object",
    "too_deep",
    "missing_field",
    "bad_event_time",
    "bad_field_type",
    "processing_error",
    "implausible_event_time",
    "too_large",
)

#: Event age buckets: CloudTrail delivers in ~5 minutes, so the interesting range is 1 s to hours.
AGE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)


@dataclass
class Metrics:
    """All instruments of one monitor process, registered on ``registry``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds, start time.
        ProcessCollector(registry=r)
        self.records = Counter(
            "role_monitor_records",
            "Input records by outcome (processed, skipped as out of scope, rejected, duplicate).",
            ["outcome"],
            registry=r,
        )
        self.assumptions = Counter(
            "role_monitor_assumptions",
            "Role-assumption events by STS call, result and caller category.",
            ["event_name", "result", "category"],
            registry=r,
        )
        self.findings = Counter(
            "role_monitor_findings",
            "Findings raised, by detector and severity (after suppression and dedup).",
            ["detector", "severity"],
            registry=r,
        )
        self.findings_suppressed = Counter(
            "role_monitor_findings_suppressed",
            "Findings dropped by a suppression rule or merged into an earlier one.",
            ["detector", "reason"],
            registry=r,
        )
        self.detector_errors = Counter(
            "role_monitor_detector_errors",
            "Exceptions raised inside a detector (the event is still processed by the others).",
            ["detector"],
            registry=r,
        )
        self.alerts = Counter(
            "role_monitor_alerts",
            "Alert deliveries by sink and outcome (delivered, failed, retried).",
            ["sink", "outcome"],
            registry=r,
        )
        self.dead_letters = Counter(
            "role_monitor_dead_letters",
            "Inputs that could not be decoded, by reason.",
            ["reason"],
            registry=r,
        )
        self.event_age = Histogram(
            "role_monitor_event_age_seconds",
            "Wall-clock time minus CloudTrail eventTime when the event was processed.",
            buckets=AGE_BUCKETS,
            registry=r,
        )
        self.processing = Histogram(
            "role_monitor_processing_seconds",
            "Time spent processing one input message, decode to delivery.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.enrichment_lookups = Counter(
            "role_monitor_enrichment_lookups",
            "Role metadata lookups by source (snapshot, iam, cache) and outcome.",
            ["source", "outcome"],
            registry=r,
        )
        self.sink_up = Gauge(
            "role_monitor_sink_up",
            "1 when the sink's last delivery succeeded, 0 while it is failing.",
            ["sink"],
            registry=r,
        )
        self.last_event_time = Gauge(
            "role_monitor_last_event_timestamp_seconds",
            "CloudTrail eventTime of the newest processed event (unix seconds).",
            registry=r,
        )
        self.ready = Gauge(
            "role_monitor_ready",
            "1 when the consumer is assigned partitions and role metadata is loaded.",
            registry=r,
        )
        self.state_reset = Gauge(
            "role_monitor_state_reset",
            "1 when the state file was expected to hold state but was found empty at startup "
            "(first-seen detection learns again).",
            registry=r,
        )
        self.state_up = Gauge(
            "role_monitor_state_up",
            "1 while the state database answers, 0 while it is away (checkpoints paused).",
            registry=r,
        )
        self.state_up.set(1)
        self.findings_claimed_elsewhere = Counter(
            "role_monitor_findings_claimed_elsewhere",
            "Findings dropped at a checkpoint because another instance of the group claimed "
            "the same decision first (it pages instead); shared state only.",
            registry=r,
        )
        self.messages_already_applied = Counter(
            "role_monitor_messages_already_applied",
            "Kafka messages read again whose effects the state already held (after a crash or "
            "a rebalance between the state commit and the offset commit); skipped whole.",
            registry=r,
        )
        self.build_info = Info("role_monitor_build", "Version of the running monitor.", registry=r)

    def initialise(self, detectors: Iterable[str], sinks: Iterable[str] = ()) -> None:
        """Create every known label combination at 0.

        A counter series that first appears at 1 hides that first increase from ``increase()``
        and ``rate()``: without this, the first break-glass finding after a restart could be
        missed by an alert rule.
        """
        for outcome in RECORD_OUTCOMES:
            self.records.labels(outcome)
        for detector in detectors:
            self.detector_errors.labels(detector)
            for severity in SEVERITIES:
                self.findings.labels(detector, severity)
            for reason in ("suppressed", "merged"):
                self.findings_suppressed.labels(detector, reason)
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)
        for sink in sinks:
            self.sink_up.labels(sink).set(1)
            for outcome in ("delivered", "failed"):
                self.alerts.labels(sink, outcome)

    def watch_lag(self, lag_source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        """Report consumer lag computed at scrape time from ``(topic, partition, lag)`` tuples."""
        self.registry.register(_LagCollector(lag_source))

    def watch_state(self, size_source: Callable[[], Iterable[tuple[str, int]]]) -> None:
        """Report state-store table sizes from ``(table, rows)`` tuples, sampled now and at each
        :meth:`sample_state`, never at scrape time.

        Why: counting rows runs on the state's own connection, which belongs to the consumer
        thread. Counted by the scrape thread, 8 scrapers in a loop cut findings delivered in
        60 s from 13,400 to 797, and a scrape still running when the state closed crashed the
        process. The consumer samples at checkpoints; the scrape reads the copy.
        """
        self._size_source = size_source
        self._sizes: list[tuple[str, int]] = []
        self.sample_state()
        self.registry.register(_StateSizeCollector(lambda: self._sizes))

    def sample_state(self) -> None:
        """Count state rows now (call on the thread that owns the state)."""
        source = getattr(self, "_size_source", None)
        if source is not None:
            self._sizes = list(source())


class _LagCollector(Collector):
    def __init__(self, source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        self._source = source

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "role_monitor_consumer_lag",
            "Records between the committed offset and the end of each assigned partition.",
            labels=["topic", "partition"],
        )
        for topic, partition, lag in self._source():
            family.add_metric([topic, str(partition)], lag)
        yield family


class _StateSizeCollector(Collector):
    def __init__(self, source: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self._source = source

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "role_monitor_state_rows", "Rows in each state-store table.", labels=["table"]
        )
        for table, rows in self._source():
            family.add_metric([table], rows)
        yield family
