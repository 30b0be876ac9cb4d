"""First-seen baselines: pairs never seen before, after a learning period (event time).

Each detector names a pair (who → which role) and keeps it in its own baseline namespace. For
``learning_period`` after the first event the monitor ever saw, pairs are learned silently;
after that a pair that is not in the baseline is reported once and learned. Baselines expire
with the state retention (``state.retention``), so a pair unused for that long is new again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from detectors.base import DetectionContext, Detector, NoOptions, short_role
from detectors.identity import stable_principal
from detectors.windows import human, learning
from monitor.config import Duration
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class LearningOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event the monitor saw during which pairs are only "
        "learned.",
    )


class FirstSeen(Detector):
    """Base of the first-seen detectors: subclasses say which pair an event makes."""

    Options = LearningOptions
    dedup_by = "the pair: each pair is reported once"
    options: LearningOptions
    needs: ClassVar[tuple[str, ...]] = ("state (baseline per pair)",)

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        """The pair this event makes, or None when it is out of this baseline's scope."""
        raise NotImplementedError

    def title(self, ev: EnrichedEvent) -> str:
        raise NotImplementedError

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        if not ev.event.succeeded:
            return  # failures name roles the caller chose: they would fill the baseline
        pair = self.pair(ev, ctx)
        if pair is None:
            return
        at = ev.event.event_time
        seen_before = ctx.state.touch(self.id, pair, at)
        if seen_before is not None or learning(ctx, self.options.learning_period, at):
            return
        yield self.finding(
            ev,
            self.title(ev),
            {
                "pair": pair,
                "learning_period": human(self.options.learning_period),
                "observation_start": ctx.observation_start.isoformat(),
            },
            dedup=pair,
        )


class CrossAccountFirstSeen(FirstSeen):
    """An account assumed a role in another account for the first time since the monitor has
    been watching (after ``learning_period``).

    New cross-account access paths are where lateral movement shows first; an expected one (a
    new pipeline, a new vendor integration) is learned after this single finding. Both copies
    of a call name the same source account, so either copy builds the same baseline.
    """

    id = "cross_account_first_seen"
    severity = Severity.MEDIUM
    summary = "A (source account → role) pair is seen for the first time after the learning period."

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        event = ev.event
        if not event.is_cross_account or event.event_name == "AssumeRoot":
            return None
        return f"{event.principal_account}->{event.role_arn}"

    def title(self, ev: EnrichedEvent) -> str:
        return (
            f"Account {ev.event.principal_account} assumed {short_role(ev.event.role_arn)} "
            "for the first time"
        )


#: GitHub Actions subjects name the branch or tag: ``repo:o/r:ref:refs/heads/feature-x``.
_GITHUB_REF = re.compile(r"(:ref:refs/(?:heads|tags|pull)/).+$")


def subject_family(subject: str) -> str:
    """A web-identity subject without its branch or tag, so each new feature branch of a known
    repository is not a new subject (``repo:o/r:ref:refs/heads/*``)."""
    return _GITHUB_REF.sub(r"\g<1>*", subject)


class FederatedSubjectFirstSeen(FirstSeen):
    """A federated subject (a SAML user, a GitHub repository, a Kubernetes service account)
    assumed a role for the first time, after ``learning_period``.

    GitHub ref subjects are compared without the branch or tag name. SAML subjects are people,
    so joiners produce findings here: the severity is low, meant for review rather than paging.
    """

    id = "federated_subject_first_seen"
    severity = Severity.LOW
    summary = "A (federated subject → role) pair is seen for the first time after learning."
    needs = ("state (baseline per pair)",)

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        federation = ev.event.federation
        if federation is None or not federation.subject:
            return None
        provider = federation.provider_name or "unknown"
        return f"{provider}|{subject_family(federation.subject)}->{ev.event.role_arn}"

    def title(self, ev: EnrichedEvent) -> str:
        federation = ev.event.federation
        assert federation is not None
        return (
            f"{federation.provider_name} subject {federation.subject} assumed "
            f"{short_role(ev.event.role_arn)} for the first time"
        )


class BreakGlassPrincipalFirstSeen(FirstSeen):
    """A principal that never used this break-glass role before has just assumed it.

    ``break_glass_assumed`` pages on every use; this says whether the person is one of the
    usual emergency responders. Role sessions count as their role (session names vary).
    """

    id = "break_glass_principal_first_seen"
    severity = Severity.HIGH
    summary = "A (principal → break-glass role) pair is seen for the first time after learning."
    needs = ("state (baseline per pair)", "break_glass config")

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        if not ev.break_glass:
            return None
        return f"{stable_principal(ev.event.caller)}->{ev.event.role_arn}"

    def title(self, ev: EnrichedEvent) -> str:
        return (
            f"{ev.event.caller.identifier} assumed break-glass role "
            f"{short_role(ev.event.role_arn)} for the first time"
        )
