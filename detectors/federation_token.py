"""Long-term IAM user keys minting federated-user sessions (``sts:GetFederationToken``).

A federated-user session outlives the deletion of the user's access key: a known persistence
trick (Stratus Red Team ``aws.persistence.sts-federation-token``). Some tools (aws-vault's
console login) use the call legitimately, so it is reported at low severity, merged per user.
"""

from __future__ import annotations

from collections.abc import Iterable

from detectors.base import DetectionContext, Detector
from detectors.identity import principal_key
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class FederationTokenIssued(Detector):
    """An IAM user obtained federated-user credentials with ``GetFederationToken``.

    The session keeps working for up to 36 hours even if the user's access key is deleted or
    deactivated, which makes the call a way to keep access after detection. Review whether the
    user is expected to do this (console-login helpers do); the repeats of one user merge within
    the dedup window.
    """

    id = "federation_token_issued"
    dedup_by = "the IAM user"
    severity = Severity.LOW
    summary = "An IAM user minted federated-user credentials with GetFederationToken."
    needs = ("the event only",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.event_name != "GetFederationToken" or not event.succeeded:
            return
        if event.caller.identity_type != "IAMUser":
            return
        yield self.finding(
            ev,
            f"IAM user {event.caller.identifier} minted federated-user credentials",
            {
                "access_key_used": event.caller.access_key_id,
                "duration_seconds": event.duration_seconds,
            },
            dedup=principal_key(event.caller),
        )
