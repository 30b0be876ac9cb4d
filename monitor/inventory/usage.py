"""Which roles and which trust grants were actually used, remembered in the state store.

Why: the posture report must tell a break-glass role's last use and a cross-account grant nobody
has used in months (dormant trust: a door left open for a partner who left). Both are read back
from baselines the pipeline touches once per assumption, keyed by event time, so they expire
with the state store's retention like everything else.
"""

from __future__ import annotations

from datetime import datetime

from monitor.state.store import StateStore
from monitor.trust.admission import grant_key
from monitor.trust.enrich import EnrichedEvent
from monitor.trust.policy import TrustGrant

ROLE_ASSUMED = "role_assumed"
GRANT_USED = "grant_used"


def record_usage(state: StateStore, ev: EnrichedEvent) -> None:
    """Touch the role (successful assumptions only) and the grant that admitted the caller."""
    event = ev.event
    arn = ev.role.arn if ev.role is not None else event.role_arn
    if not event.succeeded or not arn or not ev.trust_applies:
        return
    state.see(ROLE_ASSUMED, arn, event.event_time)
    if ev.grant is not None:
        state.see(GRANT_USED, grant_key(arn, ev.grant.grant), event.event_time)


def last_assumed(state: StateStore, role_arn: str) -> datetime | None:
    return state.last_seen(ROLE_ASSUMED, role_arn)


def grant_last_used(state: StateStore, role_arn: str, grant: TrustGrant) -> datetime | None:
    return state.last_seen(GRANT_USED, grant_key(role_arn, grant))
