"""Long-term keys minting sessions with ``sts:GetSessionToken``: ``session_token_issued``.

A leaked access key turned into a session token survives the key being noticed for up to 36
hours, and calls made with it no longer show the key. aws-vault and similar tools call it too,
with an MFA code and a short duration, from the people who always do: that stays quiet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions
from detectors.identity import stable_principal
from detectors.windows import human, learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.trust.enrich import EnrichedEvent

#: Identities with long-term access keys: the only ones GetSessionToken serves.
_LONG_TERM = frozenset({"IAMUser", "Root"})


class SessionTokenOptions(NoOptions):
    max_duration: Duration = Field(
        default=timedelta(hours=12),
        description="A requested session longer than this is reported (STS allows up to 36h; "
        "aws-vault asks for 1h).",
    )
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event during which the identities that use "
        "GetSessionToken are only learned.",
    )


class SessionTokenIssued(Detector):
    """An IAM user (or root) turned a long-term key into a session token without MFA, for longer
    than ``max_duration``, or for the first time.

    Check ``evidence.reasons``: without MFA, anyone holding the key got a session; a long
    duration keeps it past the key's rotation; a first use means this identity never did it
    before (a leaked key being tried). A first use with MFA and a short duration is low: the
    way aws-vault-style tools start. Repeats of one identity merge within the dedup window.

    What an attacker could hide behind it: a stolen key of a user who already calls
    GetSessionToken with MFA cannot pass MFA, but a user who routinely calls it without MFA
    (learned in the first week) is reported every time for "no MFA", so such users are worth
    fixing rather than suppressing; a short session requested again and again stays under
    ``max_duration``, and is visible only as repeats merged in one finding.
    """

    id = "session_token_issued"
    applies = Applies(event_names=frozenset({"GetSessionToken"}), succeeded=True)
    severity = Severity.MEDIUM
    summary = (
        "GetSessionToken without MFA, longer than max_duration, or by an identity that never "
        "used it before."
    )
    needs = ("state (identities that used GetSessionToken)",)
    dedup_by = "the identity and the reasons"
    Options = SessionTokenOptions
    options: SessionTokenOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.caller.identity_type not in _LONG_TERM:
            return  # STS refuses it to sessions; a record saying otherwise is not a key
        who = stable_principal(event.caller)
        seen = ctx.state.touch(self.id, who, event.event_time)
        first = seen is None and not learning(ctx, self.options.learning_period, event.event_time)
        reasons = self._reasons(ev)
        if first:
            reasons.append("first use by this identity")
        if not reasons:
            return
        quiet = reasons == ["first use by this identity"]
        yield self.finding(
            ev,
            f"{event.caller.identifier} minted a session token ({', '.join(reasons)})",
            {
                "reasons": reasons,
                "access_key_used": event.caller.access_key_id,
                "duration_seconds": event.duration_seconds,
                "mfa_serial_present": event.mfa_serial_present,
                "max_duration_seconds": self.options.max_duration.total_seconds(),
                "used_before_since": seen.isoformat() if seen else None,
            },
            dedup=f"{who}|{'+'.join(sorted(reasons))}",
            severity=Severity.LOW if quiet else None,
        )

    def _reasons(self, ev: EnrichedEvent) -> list[str]:
        event = ev.event
        reasons = []
        if not event.mfa_serial_present:
            reasons.append("no MFA")
        limit = self.options.max_duration.total_seconds()
        if event.duration_seconds is not None and event.duration_seconds > limit:
            reasons.append(f"duration over {human(self.options.max_duration)}")
        return reasons
