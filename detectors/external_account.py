"""Principals from outside the organization assuming roles inside it."""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import DetectionContext, Detector, short_role
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class ExternalAccount(Detector):
    id = "external_account"
    severity = Severity.HIGH
    summary = (
        "A principal from an account outside the organization and not in "
        "trusted_external_accounts assumed a role successfully."
    )
    needs = ("organization accounts",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if ev.category != "external" or not event.succeeded:
            return
        yield self.finding(
            ev,
            f"External account {event.principal_account} assumed {short_role(event.role_arn)} "
            f"as {event.caller.identifier}",
            {"source_account": event.principal_account, "organization_member": False},
        )


class MissingExternalId(Detector):
    id = "missing_external_id"
    severity = Severity.MEDIUM
    summary = "A trusted external (vendor) account assumed a role without an externalId."
    needs = ("trusted_external_accounts",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if ev.category != "vendor" or not event.succeeded or event.external_id_present:
            return
        if event.event_name != "AssumeRole":
            return
        yield self.finding(
            ev,
            f"Vendor account {event.principal_account} assumed {short_role(event.role_arn)} "
            "without an external ID",
            {"source_account": event.principal_account},
            dedup=f"{event.principal_account}:{event.role_arn}",
        )
