"""First-seen baselines: pairs never seen before, after a learning period (event time).

Each detector names a pair (who → which role) and keeps it in its own baseline namespace. For
``learning_period`` after the first event the monitor ever saw, pairs are learned silently;
after that a pair that is not in the baseline is reported once and learned. Baselines expire
with the state retention (``state.retention``), so a pair unused for that long is new again.

Why most of them inform rather than page: after learning, new pairs keep coming from the
ordinary life of an organisation (a joiner's first day, a person's first use of a permission
set they were assigned, a quarterly job's first run since the monitor started). They are worth
a line in a review queue, not a page: the attacks they could hide have detectors of their own
that page (an outside account, an untrusted provider or subject, break glass, a trust policy
opened). So each detector says which pairs are routine enough to be low or info, and merges
the new pairs of one source within ``merge_period``: a job fanning out to every account, or a
joiner trying every assignment, is one finding that says what is new and since when.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.identity import stable_principal
from detectors.windows import human, learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import Federation
from monitor.trust.enrich import EnrichedEvent
from monitor.trust.policy import PrincipalKind


class LearningOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event the monitor saw during which pairs are only "
        "learned.",
    )
    merge_period: Duration = Field(
        default=timedelta(days=1),
        description="After a finding, further new pairs of the same source within this period "
        "are learned without another finding (0s: one finding per pair).",
    )


class FirstSeen(Detector):
    """Base of the first-seen detectors: subclasses say which pair an event makes."""

    Options = LearningOptions
    dedup_by = "the source (caller or subject) whose new pairs merge, else the pair"
    options: LearningOptions
    needs: ClassVar[tuple[str, ...]] = ("state (baseline per pair)",)

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        """The pair this event makes, or None when it is out of this baseline's scope."""
        raise NotImplementedError

    def source(self, ev: EnrichedEvent) -> str | None:
        """What new pairs merge by (see ``merge_period``); None: every pair is its own finding."""
        return None

    def severity_of(self, ev: EnrichedEvent) -> Severity:
        return self.severity

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
        severity = self.severity_of(ev)
        source = self.source(ev)
        # A routine (low) new pair never hides a serious one of the same source: they merge
        # apart.
        merge = f"{source}|{severity.value}" if source is not None else None
        if merge is not None and not self._first_of_source(ctx, merge, at):
            return
        yield self.finding(
            ev,
            f"{self.title(ev)} for the first time since {ctx.observation_start:%Y-%m-%d}",
            {
                "pair": pair,
                "why": "pair not seen before",
                "first_seen": at.isoformat(),
                "watching_since": ctx.observation_start.isoformat(),
                "learning_period": human(self.options.learning_period),
                "observation_start": ctx.observation_start.isoformat(),
                **({"merged_by": source} if source is not None else {}),
            },
            dedup=merge or pair,
            severity=severity,
        )

    def _first_of_source(self, ctx: DetectionContext, source: str, at: datetime) -> bool:
        """True for the first new pair of ``source`` within ``merge_period`` (and remembers it)."""
        period = self.options.merge_period
        if not period:
            return True
        namespace = f"{self.id}:merged"
        if ctx.state.recall(namespace, source, at) is not None:
            return False
        ctx.state.remember(namespace, source, at.isoformat(), at + period)
        return True


class CrossAccountFirstSeen(FirstSeen):
    """An account assumed a role in another account for the first time since the monitor has
    been watching (after ``learning_period``).

    New cross-account access paths are where lateral movement shows first; an expected one (a
    new pipeline, a new vendor integration) is learned after this single finding. Both copies
    of a call name the same source account, so either copy builds the same baseline. New pairs
    of one caller merge within ``merge_period`` (a quarterly job reading every account is one
    finding). Medium, except a path someone designed: a caller in the organization admitted
    (verified) by a trust grant naming that very user or role is low, because the access was
    written down by whoever owns the role; its first use informs.
    """

    id = "cross_account_first_seen"
    applies = Applies(
        succeeded=True, cross_account=True, except_event_names=frozenset({"AssumeRoot"})
    )
    severity = Severity.MEDIUM
    summary = "A (source account → role) pair is seen for the first time after the learning period."

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        event = ev.event
        if not event.is_cross_account or event.event_name == "AssumeRoot":
            return None
        return f"{event.principal_account}->{event.role_arn}"

    def source(self, ev: EnrichedEvent) -> str | None:
        return stable_principal(ev.event.caller)

    def severity_of(self, ev: EnrichedEvent) -> Severity:
        return Severity.LOW if designed_path(ev) else self.severity

    def title(self, ev: EnrichedEvent) -> str:
        return f"Account {ev.event.principal_account} assumed {short_role(ev.event.role_arn)}"


def designed_path(ev: EnrichedEvent) -> bool:
    """An organization caller let in by a verified grant that names the caller's user or role."""
    match = ev.grant
    return (
        ev.category == "organization"
        and match is not None
        and match.verified
        and match.grant.principal_kind is PrincipalKind.ARN
    )


#: GitHub Actions subjects name the branch or tag: ``repo:o/r:ref:refs/heads/feature-x``.
_GITHUB_REF = re.compile(r"(:ref:refs/(?:heads|tags|pull)/).+$")


COGNITO = "cognito-identity.amazonaws.com"


def subject_family(subject: str) -> str:
    """A web-identity subject without its branch or tag, so each new feature branch of a known
    repository is not a new subject (``repo:o/r:ref:refs/heads/*``)."""
    return _GITHUB_REF.sub(r"\g<1>*", subject)


def federated_subject(federation: Federation) -> str:
    """The subject a baseline keeps: for Cognito the identity pool (the token's audience),
    since every guest or app user is a new identity id of it: an app's users coming and going
    is its ordinary life, a pool reaching a new role is not."""
    if federation.provider_name == COGNITO and federation.audience:
        return f"pool:{federation.audience}"
    return subject_family(federation.subject or "")


class FederatedSubjectFirstSeen(FirstSeen):
    """A federated subject (a SAML user, a GitHub repository, a Kubernetes service account)
    assumed a role for the first time, after ``learning_period``.

    GitHub ref subjects are compared without the branch or tag name. SAML subjects are people
    signing in through an identity provider the organization trusts, to a role their
    administrators assigned: a joiner's first day, or a person's first use of a permission set,
    is that assignment working. Those are info; a new web-identity subject (a repository, a
    service account) is low. Both are meant for review rather than paging: an untrusted
    provider or subject pages through its own detectors. New pairs of one subject merge within
    ``merge_period``.
    """

    id = "federated_subject_first_seen"
    applies = Applies(succeeded=True, federated=True)
    severity = Severity.LOW
    summary = "A (federated subject → role) pair is seen for the first time after learning."
    needs = ("state (baseline per pair)",)

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        federation = ev.event.federation
        if federation is None or not federation.subject:
            return None
        provider = federation.provider_name or "unknown"
        return f"{provider}|{federated_subject(federation)}->{ev.event.role_arn}"

    def source(self, ev: EnrichedEvent) -> str | None:
        federation = ev.event.federation
        if federation is None or not federation.subject:
            return None
        return f"{federation.provider_name or 'unknown'}|{federated_subject(federation)}"

    def severity_of(self, ev: EnrichedEvent) -> Severity:
        return Severity.INFO if ev.event.event_name == "AssumeRoleWithSAML" else self.severity

    def title(self, ev: EnrichedEvent) -> str:
        federation = ev.event.federation
        assert federation is not None
        return (
            f"{federation.provider_name} subject {federated_subject(federation)} assumed "
            f"{short_role(ev.event.role_arn)}"
        )


class BreakGlassPrincipalFirstSeen(FirstSeen):
    """A principal that never used this break-glass role before has just assumed it.

    ``break_glass_assumed`` pages on every use; this says whether the person is one of the
    usual emergency responders. Role sessions count as their role (session names vary).
    """

    id = "break_glass_principal_first_seen"
    applies = Applies(succeeded=True, break_glass=True)
    severity = Severity.HIGH
    summary = "A (principal → break-glass role) pair is seen for the first time after learning."
    needs = ("state (baseline per pair)", "break_glass config")

    def pair(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        if not ev.break_glass:
            return None
        return f"{stable_principal(ev.event.caller)}->{ev.event.role_arn}"

    def title(self, ev: EnrichedEvent) -> str:
        return (
            f"{ev.event.caller.identifier} assumed break-glass role {short_role(ev.event.role_arn)}"
        )
