"""Refusals spread over hours: ``assume_role_slow_enumeration``.

``assume_role_denied_burst`` counts failures within minutes; an intruder guessing one role name
every half hour stays under it. This keeps the distinct roles a principal was refused over a
long window: a job retrying one role is one role however often it retries, so it never counts
past one; several role names or accounts are someone looking for a way in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import FAILED, DetectionContext, Detector, NoOptions
from detectors.identity import principal_key
from detectors.windows import BurstGate, DistinctWindow, human
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.trust.enrich import EnrichedEvent

#: The fast detector's open burst (see detectors.bursts): while it reports, this stays quiet.
_FAST_BURST = "assume_role_denied_burst:burst"
EVIDENCE_ITEMS = 20


class SlowEnumerationOptions(NoOptions):
    threshold: int = Field(
        default=5, ge=2, description="Distinct roles (name and account) refused that count."
    )
    window: Duration = Field(
        default=timedelta(hours=12), description="Long window the refusals must fall in."
    )
    min_span: Duration = Field(
        default=timedelta(minutes=5),
        description=(
            "Refusals spanning no more than this are a fast burst, the job of "
            "assume_role_denied_burst (its default window): this stays quiet on them."
        ),
    )


class AssumeRoleSlowEnumeration(Detector):
    """One principal was refused ``threshold`` or more distinct roles within ``window`` (hours).

    Retries of one role never add up (one role is one item); the roles and accounts in the
    evidence say what was tried. One finding per episode: the principal must be refused nothing
    for a whole window before it can fire again. While ``assume_role_denied_burst`` has an open
    burst for the same principal this stays quiet (the burst already reports it).

    What an attacker could hide behind it: fewer than ``threshold`` distinct roles per window,
    or guesses spread over several identities (each counted on its own), or one guess per
    window and a half; a role session counts on its own, so new sessions restart the count.
    """

    id = "assume_role_slow_enumeration"
    applies = FAILED
    severity = Severity.MEDIUM
    summary = (
        "One principal was refused threshold or more distinct roles (names or accounts) "
        "within a window of hours; retries of one role never count twice."
    )
    needs = ("state (distinct refused roles per principal)",)
    dedup_by = "principal and episode start"
    Options = SlowEnumerationOptions
    options: SlowEnumerationOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.succeeded or not event.role_arn:
            return
        key, at = principal_key(event.caller), event.event_time
        gate = BurstGate(self.id, self.options.window)
        if gate.holding(ctx.state, key, at):
            return
        window = DistinctWindow(self.id, self.options.window, self.options.threshold)
        roles = window.add(ctx.state, key, at, event.role_arn)
        if len(roles) < self.options.threshold:
            return
        if max(roles.values()) - min(roles.values()) <= self.options.min_span:
            return  # minutes, not hours: the fast burst detector's to report
        if ctx.state.recall(_FAST_BURST, key, at) is not None:
            return  # the burst detector has this one
        start = gate.open(ctx.state, key, min(roles.values()), at)
        window.clear(ctx.state, key)
        accounts = sorted({r.split(":")[4] for r in roles if r.count(":") >= 5})
        names = sorted({r.rsplit("/", 1)[-1] for r in roles})
        yield self.finding(
            ev,
            f"{event.caller.identifier} was refused {len(roles)} roles ({len(names)} names, "
            f"{len(accounts)} accounts) within {human(self.options.window)}",
            {
                "distinct_roles": len(roles),
                "threshold": self.options.threshold,
                "window_seconds": self.options.window.total_seconds(),
                "roles": sorted(roles)[:EVIDENCE_ITEMS],
                "role_names": names[:EVIDENCE_ITEMS],
                "accounts": accounts[:EVIDENCE_ITEMS],
                "first": min(roles.values()).isoformat(),
                "last": max(roles.values()).isoformat(),
            },
            dedup=f"{key}@{start.isoformat()}",
        )
