"""Role chaining: sessions that assume further roles, across accounts, deep, or in circles.

``role_chain_cross_account`` needs only the event (the caller is a role session, the role is in
another account). Depth and loops need the session's ancestry, which :mod:`detectors.sessions`
keeps in state until the credentials expire.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.growth import GrowthOptions, bootstrap_reason, note_joined, observe_reach
from detectors.identity import MAX_SESSION, source_role
from detectors.sessions import ISSUING, Chain, Hop, follow, returns_to_earlier_account
from detectors.windows import human, learning
from monitor.aws.accounts import Rung
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import MembershipChange, OrganizationChange
from monitor.trust.enrich import EnrichedEvent


class ChainPairOptions(GrowthOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event the monitor saw during which (source role → "
        "target role) pairs are only learned.",
    )


class RoleChainCrossAccount(Detector):
    """A role session (``AssumedRole``, or an ``AROA…`` principal id in the role owner's copy)
    assumed a role in another account, the (source role → target role) pair new since the
    monitor has been watching (after ``learning_period``).

    Cross-account chaining is how access spreads laterally and how a session sheds the
    controls of its first account. But hub-and-spoke automation (CI, Terraform, StackSets, a
    scanner) chains across accounts every few minutes: a pair it uses is learned, and only a
    pair never seen before is reported, once. A trusted vendor admitted by a trust grant that
    requires its ExternalId, and that sent one, is that grant's expected use and is not
    reported (its risks have their own detectors: ``missing_external_id``,
    ``external_account``). New pairs of one source role are merged within the dedup window, so
    a new job fanning out to every account is one finding.

    **Hubs and bootstrap** (see :mod:`detectors.growth`, shared with
    ``cross_account_first_seen``): a source role that already reaches a role *name* in
    ``hub_accounts`` member accounts reaching that name in one more member account is routine,
    and a member account in its ``bootstrap_period`` (joined in-stream or recently by the
    directory) expects first assumptions by known hubs, Control Tower and trusted vendors with
    their ExternalId. What an attacker can hide behind it: a stolen hub session reaching the
    hub's usual role name in any member account, or anything in a bootstrapping account. What
    they cannot: a hub session pivoting to a role name it never used, a source outside the
    organization, or a source that is not yet a hub.
    """

    id = "role_chain_cross_account"
    applies = Applies(event_names=frozenset({"AssumeRole"}), succeeded=True, cross_account=True)
    dedup_by = "source role (its AROA id, in both copies): its new pairs merge"
    severity = Severity.MEDIUM
    summary = (
        "An assumed-role session assumed a role in another account, the (source role → "
        "target role) pair first seen after the learning period."
    )
    needs = ("state (baseline per pair)", "trust metadata (vendor grants)")
    Options = ChainPairOptions
    options: ChainPairOptions

    def detect_organization_change(
        self, change: OrganizationChange, was_member: bool, ctx: DetectionContext
    ) -> Iterable[Finding]:
        """An account that joins starts its bootstrap period; no finding."""
        if change.kind is MembershipChange.JOINED:
            note_joined(ctx, change.account, change.event_time, self.options.bootstrap_period)
        return ()

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        caller = event.caller
        if not caller.is_role_session or vendor_by_grant(ev):
            return
        source = source_role(caller)
        at = event.event_time
        learned = not learning(ctx, self.options.learning_period, at)
        hub = observe_reach(ctx, ev, self.options.hub_accounts)
        # Both copies of a call name the same source role: the first one learns the pair.
        if ctx.state.touch(self.id, f"{source}->{event.role_arn}", at) is not None:
            return
        if not learned or hub:
            return
        if bootstrap_reason(ctx, ev, self.options.bootstrap_period) is not None:
            return
        yield self.finding(
            ev,
            f"Role session {caller.identifier} from account {event.principal_account} "
            f"assumed {short_role(event.role_arn)}: a pair not seen since "
            f"{ctx.observation_start:%Y-%m-%d}",
            {
                "source_role": source,
                "source_account": event.principal_account,
                "target_account": event.role_account,
                "relation": ctx.enricher.account_relation(
                    event.principal_account, event.role_account
                ),
                "why": "first time this source role assumed this role",
                "first_seen": at.isoformat(),
                "watching_since": ctx.observation_start.isoformat(),
                "learning_period": human(self.options.learning_period),
            },
            dedup=source,
        )


def vendor_by_grant(ev: EnrichedEvent) -> bool:
    """A trusted vendor that sent an ExternalId and was admitted by a grant requiring one."""
    grant = ev.grant
    return (
        ev.category == Rung.VENDOR
        and ev.event.external_id_present
        and grant is not None
        and grant.grant.requires_external_id
    )


def _chain_evidence(hop: Hop) -> dict[str, object]:
    chain: Chain = hop.chain
    return {
        "chain_depth": chain.depth,
        "chain_accounts": list(chain.accounts),
        "chain_roles": list(chain.roles),
        "chain_event_ids": list(chain.event_ids),
        "chain_complete": chain.complete,
    }


#: Chains (by their first assumption) that ``role_chain_depth`` already reported.
REPORTED_CHAINS = "role_chain_depth:reported"


class ChainDepthOptions(NoOptions):
    max_depth: int = Field(
        default=3, ge=1, description="Deepest chain of role assumptions that is not reported."
    )


class RoleChainDepth(Detector):
    """A session was reached through more than ``max_depth`` role assumptions in a row.

    Depth 1 is a session issued to a user, identity provider or service; each chained
    AssumeRole adds one. Deep chains hide who is behind a session and are rarely designed.
    ``chain_complete: false`` means the chain began before the monitor saw it (depth is then a
    lower bound). One finding per chain: the first hop past ``max_depth`` reports it, deeper
    hops of the same chain (same first assumption) do not, however long the chain lives.
    """

    id = "role_chain_depth"
    # follow() records the issued session (state) on exactly these: both chain detectors run it.
    applies = Applies(event_names=ISSUING, succeeded=True)
    dedup_by = "the chain (its first assumption)"
    severity = Severity.MEDIUM
    summary = "A role chain grew deeper than max_depth assumptions."
    needs = ("state (sessions until their credentials expire)",)
    Options = ChainDepthOptions
    options: ChainDepthOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        hop = follow(ev.event, ctx.state)
        if hop is None or hop.chain.depth <= self.options.max_depth:
            return
        # One finding per chain, however long it lives and however deep it goes on: the
        # chain's first assumption is remembered as long as any of its sessions can live.
        at = ev.event.event_time
        if ctx.state.recall(REPORTED_CHAINS, hop.chain.origin, at) is not None:
            return
        ctx.state.remember(
            REPORTED_CHAINS, hop.chain.origin, str(hop.chain.depth), at + MAX_SESSION
        )
        yield self.finding(
            ev,
            f"Role chain {hop.chain.depth} deep reached {short_role(ev.event.role_arn)} "
            f"(limit {self.options.max_depth})",
            {**_chain_evidence(hop), "max_depth": self.options.max_depth},
            dedup=f"chain:{hop.chain.origin}",
        )


class RoleChainLoop(Detector):
    """A role chain crossed back into an account it had already left (A → B → A).

    Going out and coming back turns a trust granted to account B into a way around account A's
    own controls (a permission boundary, an SCP on the first role, the ``sourceIdentity`` of the
    first session), and is almost never how access is designed.
    """

    id = "role_chain_loop"
    applies = Applies(event_names=ISSUING, succeeded=True)
    dedup_by = "the chain (its first assumption) and the account it returned to"
    severity = Severity.HIGH
    summary = "A role chain crossed back into an account it had already left."
    needs = ("state (sessions until their credentials expire)",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        hop = follow(ev.event, ctx.state)
        if hop is None or not returns_to_earlier_account(hop):
            return
        path = " → ".join(hop.chain.accounts)
        yield self.finding(
            ev,
            f"Role chain returned to account {hop.role_account} ({path}) "
            f"assuming {short_role(ev.event.role_arn)}",
            _chain_evidence(hop),
            dedup=f"chain:{hop.chain.origin}:{hop.role_account}",
        )
