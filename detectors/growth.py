"""Baselines at the level an operator thinks: hubs by role name, and new accounts' bootstrap.

In a growing organisation "first seen" is the normal state of things: the Terraform hub reaches
its ``TerraformExecution`` role in an account it had not applied to during the learning week; a
vended account is first touched by Control Tower, the hub and the vendors. An operator does not
read those as new access paths, because the *path* (this hub → that role name, in member
accounts) is old; only the account is new. Both first-seen cross-account detectors ask here:

- **Hubs.** A source (a role counts as its role, a user as itself) of an organization account
  that already reached a role *name* in ``hub_accounts`` member accounts reaching that name in
  one more member account is routine. Reach is remembered per (source, role name) as a short
  list of member accounts, for the state retention.
- **Bootstrap.** A member account that joined in-stream (``CreateAccountResult``,
  ``AcceptHandshake``) or recently by the directory (list-accounts' ``JoinedTimestamp`` in
  ``organization.accounts_file``) has ``bootstrap_period`` during which first assumptions by
  already-known hubs, by Control Tower (``AWSControlTower*`` roles of an organization account
  into ``AWSControlTowerExecution``) and by trusted vendors sending an ExternalId are expected.

Neither excuses anything from outside the organization (a vendor only with its ExternalId), nor
a hub reaching a role name it never used outside a bootstrap period.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from detectors import jsontext
from detectors.base import DetectionContext, NoOptions
from detectors.identity import stable_principal
from monitor.aws.accounts import Rung
from monitor.config.settings import Duration
from monitor.intake.clock import plus
from monitor.state.documents import Codec
from monitor.trust.enrich import EnrichedEvent

#: Member accounts a federated subject template must reach a role name in to be a hub.
HUB_ACCOUNTS = 3
#: Member accounts remembered per (source, role name): a few more than any sensible threshold.
KEPT_ACCOUNTS = 12
REACH = "growth:reach"
HUBS = "growth:hub"
BOOTSTRAP = "growth:bootstrap"
#: A (source, role name)'s member accounts -> when first reached (unix seconds), kept decoded in
#: the state's cache (monitor/state/documents.py).
ACCOUNTS: Codec[dict[str, float]] = Codec(jsontext.dumps, jsontext.loads)


class GrowthOptions(NoOptions):
    """The knobs of the growth mechanisms, shared by every detector that uses them."""

    hub_accounts: int = Field(
        default=HUB_ACCOUNTS,
        ge=1,
        description="A source that reached a role name in this many member accounts is a hub: "
        "its first use of that name in one more member account is routine.",
    )
    bootstrap_period: Duration = Field(
        default=timedelta(days=7),
        description="How long after a member account joins (in-stream, or by the directory's "
        "JoinedTimestamp) first assumptions into it by hubs, Control Tower and trusted vendors "
        "sending their ExternalId are expected.",
    )


#: Control Tower's own roles (AWS names them, every landing zone has them).
CONTROL_TOWER_CALLER = "AWSControlTower"
CONTROL_TOWER_TARGET = "AWSControlTowerExecution"


def role_name(arn: str | None) -> str | None:
    """``path/Name`` after ``:role/``; None for anything that is not a role ARN."""
    if not arn or ":role/" not in arn:
        return None
    return arn.split(":role/", 1)[1]


def observe_reach(
    ctx: DetectionContext, ev: EnrichedEvent, hub_accounts: int, source: str | None = None
) -> bool:
    """Record that ``source`` (by default the caller, which must then be of an organization
    account) reached the role's name in its account; True when, before this call, it had
    reached that name in ``hub_accounts`` other member accounts (a hub)."""
    event, org = ev.event, ctx.enricher.org
    name, account = role_name(event.role_arn), event.role_account
    if name is None or account is None or account not in org:
        return False
    if source is None and event.principal_account not in org:
        return False
    source = source or stable_principal(event.caller)
    at = event.event_time
    key = f"{source}|{name}"
    # account -> when first reached (unix seconds), so a reader can ask "before this hour".
    accounts = ctx.state.recall_doc(REACH, key, at, ACCOUNTS) or {}
    hub = len([a for a in accounts if a != account]) >= hub_accounts
    if account not in accounts and len(accounts) < KEPT_ACCOUNTS:
        accounts = {**accounts, account: at.timestamp()}  # a new value: the cached one is shared
        expires = plus(at, ctx.settings.state.retention)
        ctx.state.remember_doc(REACH, (key,), accounts, expires, ACCOUNTS)
        if len(accounts) >= hub_accounts:
            ctx.state.remember(HUBS, source, name, expires)
    return hub


def reaches(ctx: DetectionContext, source: str, role_arn: str, before: datetime, hubs: int) -> bool:
    """Read only: ``source`` had reached the role's name in ``hubs`` member accounts before
    ``before`` (a burst's own fan-out does not make its source a hub)."""
    name = role_name(role_arn)
    accounts = ctx.state.recall_doc(REACH, f"{source}|{name}", before, ACCOUNTS) if name else None
    if accounts is None:
        return False
    return len([t for t in accounts.values() if t < before.timestamp()]) >= hubs


def is_known_hub(ctx: DetectionContext, ev: EnrichedEvent) -> bool:
    """True when the caller is a hub for some role name (see :func:`observe_reach`)."""
    if ev.event.principal_account not in ctx.enricher.org:
        return False
    return (
        ctx.state.recall(HUBS, stable_principal(ev.event.caller), ev.event.event_time) is not None
    )


def note_joined(ctx: DetectionContext, account: str, at: datetime, period: timedelta) -> None:
    """An account joined the organization in-stream: its bootstrap period starts."""
    ctx.state.remember(BOOTSTRAP, account, at.isoformat(), plus(at, period))


def bootstrapping(ctx: DetectionContext, account: str, at: datetime, period: timedelta) -> bool:
    """In its bootstrap period: joined in-stream (remembered until the period ends), or joined
    recently by the directory's ``JoinedTimestamp`` (``period`` is the caller's option)."""
    if ctx.state.recall(BOOTSTRAP, account, at) is not None:
        return True
    joined = ctx.enricher.org.joined_at.get(account)
    return joined is not None and joined <= at < plus(joined, period)


def bootstrap_reason(ctx: DetectionContext, ev: EnrichedEvent, period: timedelta) -> str | None:
    """Why this first assumption into a bootstrapping member account is expected, or None."""
    event = ev.event
    account = event.role_account
    if account is None or account not in ctx.enricher.org:
        return None
    if not bootstrapping(ctx, account, event.event_time, period):
        return None
    if ev.category == Rung.VENDOR and event.external_id_present:
        return "trusted vendor with its ExternalId, in a new account's bootstrap period"
    if event.principal_account not in ctx.enricher.org:
        return None
    caller = _last(role_name(event.caller.session_issuer_arn))
    if caller.startswith(CONTROL_TOWER_CALLER) and _last(role_name(event.role_arn)) == (
        CONTROL_TOWER_TARGET
    ):
        return "Control Tower enrolling a new account"
    if is_known_hub(ctx, ev):
        return "an organization hub, in a new account's bootstrap period"
    return None


def _last(name: str | None) -> str:
    return name.rsplit("/", 1)[-1] if name else ""
