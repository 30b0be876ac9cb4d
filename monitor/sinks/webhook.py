"""Findings POSTed to a webhook as Slack messages, PagerDuty Events v2, or the finding's JSON.

Caller-supplied text reaches people here, so each format treats it as hostile:
- Slack: values are cleaned (control characters made visible), capped, ``&``/``<``/``>``
  escaped (no ``<!channel>``, no ``<http://evil|click>``), shown as inline code with backticks
  neutralised, in ``mrkdwn`` with ``verbatim`` on (no automatic links or mentions); the
  notification fallback text holds no caller text at all.
- PagerDuty: ``summary`` ≤ 1024 characters, every custom detail cleaned and capped.
- JSON everywhere is produced by a serializer, never by string concatenation.
The webhook URL and routing key are secrets: error messages show the URL masked, and neither
is ever logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import orjson

from monitor.config.settings import ConfigError, WebhookSinkConfig
from monitor.findings import Finding, Severity
from monitor.intake.text import clean
from monitor.sinks.base import Accepted
from monitor.sinks.httppost import DEFAULT_TIMEOUT, masked, post_json
from monitor.sinks.render import (
    account_or_unknown,
    alert_name,
    finding_document,
    reason_lines,
    role_name,
    runbook_url,
)
from monitor.sinks.retry import Deadline, RetryPolicy, TransientSinkError, with_retries

PAGERDUTY_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
    Severity.INFO: "info",
}
PAGERDUTY_SUMMARY_LIMIT = 1024
PAGERDUTY_DEDUP_LIMIT = 255
#: Raw characters kept per Slack value; escaping may grow it ≤ 5x, still under Slack's limits
#: (2000 per field, 3000 per section text).
SLACK_VALUE_LIMIT = 300
SLACK_TITLE_LIMIT = 500
SLACK_HEADER_LIMIT = 150
#: Slack's limit for one section's text.
SLACK_SECTION_LIMIT = 3000
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "\u02cb"})


def slack_escape(value: object, limit: int = SLACK_VALUE_LIMIT) -> str:
    """Caller text made inert for Slack mrkdwn: cleaned, capped, then escaped."""
    return (clean(value, limit) or "").translate(_SLACK_ESCAPES)


def slack_code(value: object, limit: int = SLACK_VALUE_LIMIT) -> str:
    """Inline code: Slack neither links nor formats inside it."""
    text = slack_escape(value, limit)
    return f"`{text}`" if text else "_none_"


def slack_payload(finding: Finding, runbook_base: str | None = None) -> dict[str, Any]:
    """An incoming-webhook message: header, title, who/what/where fields, runbook link."""
    name = alert_name(finding.detector)
    account = account_or_unknown(finding.role_account)
    runbook = runbook_url(runbook_base, finding.detector)
    link = f" · <{runbook}|runbook>" if runbook else ""
    fields = [
        ("Principal", finding.principal),
        ("Principal account", finding.principal_account),
        ("Role", finding.role_arn),
        ("Call", finding.event_name),
        ("Category", finding.category),
        ("Source IP", finding.source_ip),
        ("User agent", finding.user_agent),
        ("Event", f"{finding.event_id} at {finding.model_dump(mode='json')['event_time']}"),
    ]
    return {
        # Notification text: only values from bounded sets, never caller text.
        "text": f"[{finding.severity.value.upper()}] {name} (role account {account})",
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"{finding.severity.value.upper()}: {name}"[:SLACK_HEADER_LIMIT],
                    "emoji": False,
                },
            },
            _mrkdwn_section(slack_escape(finding.title, SLACK_TITLE_LIMIT)),
            *_reasons_section(finding),
            {
                "type": "section",
                "fields": [_mrkdwn(f"*{label}*\n{slack_code(value)}") for label, value in fields],
            },
            {
                "type": "context",
                "elements": [
                    _mrkdwn(
                        f"detector `{finding.detector}` · severity *{finding.severity.value}*"
                        + link
                    )
                ],
            },
        ],
    }


def _reasons_section(finding: Finding) -> list[dict[str, Any]]:
    """A page's every reason (``monitor.sinks.pages``), one escaped line each; none alone."""
    kept: list[str] = []
    size = 0
    for line in (slack_escape(line) for line in reason_lines(finding)):
        size += len(line) + 1
        if size > SLACK_SECTION_LIMIT:  # whole lines only: never half an escape
            break
        kept.append(line)
    return [_mrkdwn_section("\n".join(kept))] if kept else []


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text or "(no title)")}


def pagerduty_payload(
    finding: Finding, routing_key: str, runbook_base: str | None = None
) -> dict[str, Any]:
    """An Events API v2 ``trigger``; the dedup key makes resends update the same incident."""
    account = account_or_unknown(finding.role_account)
    runbook = runbook_url(runbook_base, finding.detector)
    links = {"client_url": runbook, "links": [{"href": runbook, "text": "Runbook"}]}
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": pagerduty_dedup_key(finding.dedup_key),
        "client": "role-usage-monitor",
        **(links if runbook else {}),
        "payload": {
            "summary": clean(finding.title, PAGERDUTY_SUMMARY_LIMIT) or finding.detector,
            "source": f"aws-account-{account}",
            "severity": PAGERDUTY_SEVERITY[finding.severity],
            "timestamp": finding.model_dump(mode="json")["event_time"],
            "component": clean(role_name(finding.role_arn) or "unknown-role", 255),
            "group": account,
            "class": finding.detector,
            "custom_details": finding_document(finding),
        },
    }


def pagerduty_dedup_key(dedup_key: str) -> str:
    """The finding's dedup key, hashed when longer than PagerDuty's 255 characters."""
    if len(dedup_key) <= PAGERDUTY_DEDUP_LIMIT and dedup_key.isprintable():
        return dedup_key
    return "sha256:" + hashlib.sha256(dedup_key.encode("utf-8", "surrogatepass")).hexdigest()


class WebhookSink:
    #: The default name; several webhooks get distinct ones (see ``factory.webhook_names``).
    name = "webhook"
    #: Notifies people: gets one page per event (see monitor.sinks.pages).
    pages = True

    def __init__(
        self,
        config: WebhookSinkConfig,
        *,
        name: str | None = None,
        runbook_base: str | None = None,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
        on_retry: Callable[[TransientSinkError], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if config.format == "pagerduty" and config.routing_key is None:
            raise ConfigError("alerts.webhook.routing_key is required for format pagerduty")
        self.name = name or config.name or WebhookSink.name
        self.format = config.format
        self._url = config.url
        self._routing_key = config.routing_key
        self._runbook = runbook_base
        self._policy = policy
        self._on_retry = on_retry
        self._timeout = timeout
        self.accepted = Accepted()

    def __repr__(self) -> str:
        return f"WebhookSink(format={self.format!r}, url={masked(self._url.get_secret_value())!r})"

    def send(self, findings: Sequence[Finding]) -> None:
        """One POST per finding (Slack messages and PagerDuty events are single items); each
        accepted POST is remembered, so a retry after the 7th of 10 failed sends 4, not 10."""
        deadline = Deadline(self._timeout)  # the whole call: every POST and its retries
        for finding in self.accepted.new(findings):
            body = orjson.dumps(self.payload(finding))
            with_retries(
                partial(self._post, body, deadline),
                self._policy,
                on_retry=self._on_retry,
                deadline=deadline,
            )
            self.accepted.add(finding)

    def payload(self, finding: Finding) -> dict[str, Any]:
        if self.format == "slack":
            return slack_payload(finding, self._runbook)
        if self.format == "pagerduty":
            assert self._routing_key is not None
            return pagerduty_payload(finding, self._routing_key.get_secret_value(), self._runbook)
        runbook = runbook_url(self._runbook, finding.detector)
        return {**finding_document(finding), **({"runbook_url": runbook} if runbook else {})}

    def _post(self, body: bytes, deadline: Deadline) -> None:
        secrets = [self._routing_key.get_secret_value()] if self._routing_key else []
        timeout = deadline.left(self.name)
        post_json(self._url.get_secret_value(), body, secrets=secrets, timeout=timeout)

    def flush(self) -> None:
        """Nothing buffered: :meth:`send` returns only once the receiver accepted each POST."""

    def close(self) -> None:
        """No connection is kept open between sends."""
