"""Findings as Alertmanager alerts (``POST {url}/api/v2/alerts``), one alert per finding.

Labels are few and bounded, because Alertmanager groups, routes, inhibits and deduplicates on
them: ``alertname`` (from the detector), ``detector``, ``severity``, ``role_account`` (a 12-digit
id or ``unknown``) and ``fingerprint``, a hash of the finding's dedup key. Sending the same
finding again (a restart reprocessing uncommitted input) yields identical labels, hence the same
Alertmanager fingerprint: the alert is refreshed, never duplicated. Everything per-event
(principal, role ARN, IP, user agent, event id) goes into annotations, cleaned and capped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from monitor.config.settings import AlertmanagerSinkConfig
from monitor.findings import Finding
from monitor.intake.text import clean
from monitor.sinks.base import Accepted
from monitor.sinks.httppost import DEFAULT_TIMEOUT, post_json
from monitor.sinks.render import (
    account_or_unknown,
    alert_name,
    description_lines,
    fingerprint,
    runbook_url,
)
from monitor.sinks.retry import Deadline, RetryPolicy, TransientSinkError, with_retries

#: Alerts per POST: small enough for Alertmanager's default request limits, few round trips.
BATCH = 100
SUMMARY_LIMIT = 256
ANNOTATION_LIMIT = 512
DESCRIPTION_LIMIT = 4096


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AlertmanagerSink:
    name = "alertmanager"
    #: Notifies people: gets one page per event (see monitor.sinks.pages).
    pages = True

    def __init__(
        self,
        config: AlertmanagerSinkConfig,
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
        on_retry: Callable[[TransientSinkError], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = DEFAULT_TIMEOUT,
        runbook_base: str | None = None,
    ) -> None:
        self.config = config
        self.runbook_base = runbook_base or config.runbook_base_url
        self.endpoint = config.url.rstrip("/") + "/api/v2/alerts"
        self._policy = policy
        self._on_retry = on_retry
        self._clock = clock
        self._timeout = timeout
        self.accepted = Accepted()

    def send(self, findings: Sequence[Finding]) -> None:
        """POSTs of up to ``BATCH`` alerts; each accepted POST is remembered (not resent)."""
        deadline = Deadline(self._timeout)  # the whole call: every chunk and its retries
        for chunk in _chunks(self.accepted.new(findings), BATCH):
            body = orjson.dumps([self.alert(finding) for finding in chunk])
            with_retries(
                partial(self._post, body, deadline),
                self._policy,
                on_retry=self._on_retry,
                deadline=deadline,
            )
            for finding in chunk:
                self.accepted.add(finding)

    def _post(self, body: bytes, deadline: Deadline) -> None:
        # The URL may hold basic-auth credentials: it is masked and scrubbed from errors.
        timeout = deadline.left(self.name)
        post_json(self.endpoint, body, secrets=[self.config.url], timeout=timeout)

    def alert(self, finding: Finding) -> dict[str, Any]:
        """The API v2 ``postableAlert`` for one finding."""
        runbook = runbook_url(self.runbook_base, finding.detector)
        alert = {
            "labels": {
                "alertname": alert_name(finding.detector),
                "detector": finding.detector,
                "severity": finding.severity.value,
                "role_account": account_or_unknown(finding.role_account),
                "fingerprint": fingerprint(finding),
            },
            "annotations": self._annotations(finding, runbook),
            "startsAt": _rfc3339(finding.event_time),
            "endsAt": _rfc3339(self._ends_at(finding)),
        }
        generator = self.config.generator_url or runbook
        return {**alert, "generatorURL": generator} if generator else alert

    def _ends_at(self, finding: Finding) -> datetime:
        """``resolve_after`` past the later of event time and now.

        Why not event time alone: after a backlog (the consumer was down for hours) an old
        break-glass event would arrive already resolved, and Alertmanager never notifies for
        an alert that is resolved on arrival. Late findings must still page.
        """
        return max(finding.event_time, self._clock()) + self.config.resolve_after

    @staticmethod
    def _annotations(finding: Finding, runbook: str | None) -> dict[str, str]:
        per_event = {
            "principal": finding.principal,
            "role_arn": finding.role_arn,
            "source_ip": finding.source_ip,
            "event_id": finding.event_id,
            "event_name": finding.event_name,
            "user_agent": finding.user_agent,
            "category": finding.category,
        }
        return {
            "summary": clean(finding.title, SUMMARY_LIMIT) or finding.detector,
            "description": "\n".join(description_lines(finding))[:DESCRIPTION_LIMIT],
            **({"runbook_url": runbook} if runbook else {}),
            **{k: clean(v, ANNOTATION_LIMIT) or "" for k, v in per_event.items() if v},
        }

    def flush(self) -> None:
        """Nothing buffered: :meth:`send` returns only once Alertmanager accepted the alerts."""

    def close(self) -> None:
        """No connection is kept open between sends."""


def _chunks(items: Sequence[Finding], size: int) -> Iterator[Sequence[Finding]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
