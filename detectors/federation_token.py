"""Long-term IAM user keys minting federated-user sessions (``sts:GetFederationToken``).

A federated-user session outlives the deletion of the user's access key: a known persistence
trick (Stratus Red Team ``aws.persistence.sts-federation-token``). Some tools (aws-vault's
console login, a federation broker for a legacy app) use the call legitimately: the users known
to do so are listed in ``brokers``; the rest are reported at low severity, merged per user.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions
from detectors.identity import principal_key
from monitor.aws.principals import IdentityType
from monitor.findings import Finding, Severity
from monitor.trust.enrich import EnrichedEvent


class FederationTokenOptions(NoOptions):
    brokers: tuple[str, ...] = Field(
        default=(),
        description="Known federation brokers: fnmatch globs, each tried against the IAM "
        "user's name and its ARN (e.g. 'arn:aws:iam::*:user/sso-broker'); their "
        "GetFederationToken calls are expected and not reported.",
    )


class FederationTokenIssued(Detector):
    """An IAM user obtained federated-user credentials with ``GetFederationToken``.

    The session keeps working for up to 36 hours even if the user's access key is deleted or
    deactivated, which makes the call a way to keep access after detection. Review whether the
    user is expected to do this (console-login helpers do) and list the known brokers in
    ``brokers``; the repeats of one user merge within the dedup window.
    """

    id = "federation_token_issued"
    applies = Applies(event_names=frozenset({"GetFederationToken"}), succeeded=True)
    dedup_by = "the IAM user"
    severity = Severity.LOW
    summary = "An IAM user minted federated-user credentials with GetFederationToken."
    needs = ("the event only",)
    Options = FederationTokenOptions
    options: FederationTokenOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.caller.identity_type != IdentityType.IAM_USER or self._broker(ev):
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

    def _broker(self, ev: EnrichedEvent) -> bool:
        caller = ev.event.caller
        names = [name for name in (caller.user_name, caller.arn) if name]
        return any(fnmatchcase(name, glob) for glob in self.options.brokers for name in names)
