"""Role chaining: sessions that assume further roles, across accounts, deep, or in circles.

``role_chain_cross_account`` needs only the event (the caller is a role session, the role is in
another account). Depth and loops need the session's ancestry, which :mod:`detectors.sessions`
keeps in state until the credentials expire.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from detectors.base import DetectionContext, Detector, NoOptions, short_role
from detectors.identity import source_role
from detectors.sessions import Chain, Hop, follow, returns_to_earlier_account
from monitor.enrich import EnrichedEvent
from monitor.findings import Finding, Severity


class RoleChainCrossAccount(Detector):
    """A role session (``AssumedRole``, or an ``AROA…`` principal id in the role owner's copy)
    assumed a role in another account.

    Cross-account chaining is how access spreads laterally and how a session sheds the
    controls of its first account. Expected hub-and-spoke automation is best suppressed by
    ``evidence.source_role``. Merged per (source role, target role) within the dedup window.
    """

    id = "role_chain_cross_account"
    dedup_by = "source role (its AROA id, in both copies) and target role"
    severity = Severity.MEDIUM
    summary = "An assumed-role session assumed a role in another account."
    needs = ("organization accounts (for evidence.relation)",)

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        caller = event.caller
        if event.event_name != "AssumeRole" or not event.succeeded:
            return
        if not caller.is_role_session or not event.is_cross_account:
            return
        source = source_role(caller)
        yield self.finding(
            ev,
            f"Role session {caller.identifier} from account {event.principal_account} "
            f"assumed {short_role(event.role_arn)}",
            {
                "source_role": source,
                "source_account": event.principal_account,
                "target_account": event.role_account,
                "relation": ctx.enricher.account_relation(
                    event.principal_account, event.role_account
                ),
            },
            dedup=f"{source}->{event.role_arn}",
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


class ChainDepthOptions(NoOptions):
    max_depth: int = Field(
        default=3, ge=1, description="Deepest chain of role assumptions that is not reported."
    )


class RoleChainDepth(Detector):
    """A session was reached through more than ``max_depth`` role assumptions in a row.

    Depth 1 is a session issued to a user, identity provider or service; each chained
    AssumeRole adds one. Deep chains hide who is behind a session and are rarely designed.
    ``chain_complete: false`` means the chain began before the monitor saw it (depth is then a
    lower bound). One finding per chain: merged on the chain's first event.
    """

    id = "role_chain_depth"
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
