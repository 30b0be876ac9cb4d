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
from detectors.growth import (
    HUB_ACCOUNTS,
    GrowthOptions,
    bootstrap_reason,
    note_joined,
    observe_reach,
)
from detectors.identity import stable_principal
from detectors.subjects import subject_template
from detectors.windows import human, learning
from monitor.aws.accounts import Rung
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import Federation, MembershipChange, OrganizationChange
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
    #: Failures name roles the caller chose: they would fill the baseline.
    applies = Applies(succeeded=True)
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

    def observe(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        """Called on every in-scope event before its pair is looked up: keep what else the
        detector learns (hub reach), and say why the event is routine even if its pair is new."""
        return None

    def expected(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        """Why a new pair is expected after all (a new account's bootstrap), or None."""
        return None

    def title(self, ev: EnrichedEvent) -> str:
        raise NotImplementedError

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        pair = self.pair(ev, ctx)
        if pair is None:
            return
        at = ev.event.event_time
        learned = not learning(ctx, self.options.learning_period, at)
        routine = self.observe(ev, ctx)
        seen_before = ctx.state.touch(self.id, pair, at)
        if seen_before is not None or not learned or routine is not None:
            return
        if self.expected(ev, ctx) is not None:
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


class FirstSeenGrowthOptions(LearningOptions, GrowthOptions):
    """A first-seen detector's learning knobs and the growth mechanisms'."""


class CrossAccountFirstSeen(FirstSeen):
    """An account assumed a role in another account for the first time since the monitor has
    been watching (after ``learning_period``).

    New cross-account access paths are where lateral movement shows first; an expected one (a
    new pipeline, a new vendor integration) is learned after this single finding. Both copies
    of a call name the same source account, so either copy builds the same baseline. New pairs
    of one caller merge within ``merge_period`` (a quarterly job reading every account is one
    finding). Medium, except a path someone designed: a caller in the organization admitted
    (verified) by a trust grant naming that very user or role, or a trusted vendor admitted by
    a grant requiring an ExternalId it sent one of (a vendor's first fan-out), is low, because the
    access was written down by whoever owns the role; its first use informs.

    **Baselines at the operator's level** (see :mod:`detectors.growth`). A hub (a source that
    already reached a role name in ``hub_accounts`` member accounts) reaching that name in one
    more member account is routine. A member account that joined in-stream
    (``CreateAccountResult``, ``AcceptHandshake``) or recently by the directory has
    ``bootstrap_period`` in which first assumptions by already-known hubs, Control Tower
    (``AWSControlTower*`` → ``AWSControlTowerExecution``) and trusted vendors sending their
    ExternalId are expected. What an attacker can hide behind it: with a stolen hub session,
    the hub's role name in any member account, and any role of an account in its bootstrap
    period; with a vendor's credentials and its ExternalId, any role of a bootstrapping account
    (``missing_external_id`` and the trust policy still bound what works). What they cannot:
    a hub reaching a role name it never used outside a bootstrap period, a source from outside
    the organization (a Control Tower-named role in an outside account, a fake new account's
    "bootstrap" by anyone not already a hub), a non-hub source, or an account that is not a
    member: each still fires.
    """

    id = "cross_account_first_seen"
    applies = Applies(
        succeeded=True, cross_account=True, except_event_names=frozenset({"AssumeRoot"})
    )
    severity = Severity.MEDIUM
    summary = (
        "A (source account → role) pair is seen for the first time after the learning period; "
        "a hub's role name in one more member account and a new account's bootstrap are "
        "expected."
    )
    Options = FirstSeenGrowthOptions
    options: FirstSeenGrowthOptions

    def observe(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        hub = observe_reach(ctx, ev, self.options.hub_accounts)
        return "hub reaching its role name in one more member account" if hub else None

    def expected(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        return bootstrap_reason(ctx, ev, self.options.bootstrap_period)

    def detect_organization_change(
        self, change: OrganizationChange, was_member: bool, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """An account that joins starts its bootstrap period; no finding."""
        if change.kind is MembershipChange.JOINED:
            note_joined(ctx, change.account, change.event_time, self.options.bootstrap_period)
        return ()

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
    """An organization caller let in by a verified grant that names the caller's user or role,
    or a trusted vendor let in by a grant requiring an ExternalId it sent one of."""
    match = ev.grant
    if match is None:
        return False
    if ev.category == Rung.VENDOR:  # the ExternalId's value is not in the record: its presence is
        return ev.event.external_id_present and match.grant.requires_external_id
    return (
        ev.category == Rung.ORGANIZATION
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


def shown_subject(federation: Federation) -> str:
    """The subject a title names: a Cognito identity pool rather than one of its guests."""
    if federation.provider_name == COGNITO and federation.audience:
        return f"pool:{federation.audience}"
    return federation.subject or ""


def federated_template(federation: Federation, saml: bool) -> str:
    """The template a baseline keeps (:func:`detectors.subjects.subject_template`); for
    Cognito the identity pool (the token's audience), since every guest or app user is a new
    identity id of it: an app's users coming and going is its ordinary life, a pool reaching a
    new role is not."""
    if federation.provider_name == COGNITO and federation.audience:
        return shown_subject(federation)
    return subject_template(federation.subject or "", saml)


class FederatedSubjectFirstSeen(FirstSeen):
    """A federated subject *template* (a GitHub repository's tags, a service account of
    namespaces that come and go, the people of a SAML provider) assumed a role for the first
    time, after ``learning_period``.

    **Subject templates** (see :mod:`detectors.subjects`): subjects generalise the way people
    read them, per provider: ``repo:acme/*:ref:refs/tags/*``, ``repo:acme/*:environment:*``,
    ``system:serviceaccount:pr-*:web``, and every person of a SAML provider (IAM Identity
    Center included) is one template. A new instance of a known template (the next release
    tag, a new repository of the organization, a preview namespace, a joiner signing in to a
    permission set others use) is not news, nor is a template that already reaches a role
    name in several member accounts reaching it in one more (each team's ``gha-deploy``, a
    permission set's role in every account; see :mod:`detectors.growth`); a template new for
    the role is: a SAML one (a permission set nobody signed in to through
    that provider before) is info, a web-identity one (a repository, a service account) low.
    Both are meant for review rather than paging; an untrusted provider or subject pages
    through its own detectors. New pairs of one template merge within ``merge_period``.

    What an attacker can hide behind it: a subject that is an instance of a known template for
    that role or role name (a new tag, pull request or repository of the same organization, a
    new namespace matching the preview pattern, another person signing in to a role people
    already use): the trust
    policy, ``federation_subject_not_allowed`` and Identity Center's own assignments are the
    control there. What they cannot: a repository of another owner, even shaped like a
    known template (``repo:other/app:ref:refs/tags/v1``), is its own template (and pages as
    not allowed), and so is a service account name or a role never used by the template.
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
        return f"{self.source(ev)}->{ev.event.role_arn}"

    def source(self, ev: EnrichedEvent) -> str | None:
        federation = ev.event.federation
        if federation is None or not federation.subject:
            return None
        saml = ev.event.event_name == "AssumeRoleWithSAML"
        return f"{federation.provider_name or 'unknown'}|{federated_template(federation, saml)}"

    def severity_of(self, ev: EnrichedEvent) -> Severity:
        return Severity.INFO if ev.event.event_name == "AssumeRoleWithSAML" else self.severity

    def observe(self, ev: EnrichedEvent, ctx: DetectionContext) -> str | None:
        source = self.source(ev)
        hub = source is not None and observe_reach(ctx, ev, HUB_ACCOUNTS, source=source)
        return "template reaching its role name in one more member account" if hub else None

    def title(self, ev: EnrichedEvent) -> str:
        federation = ev.event.federation
        assert federation is not None
        return (
            f"{federation.provider_name} subject {shown_subject(federation)} assumed "
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
