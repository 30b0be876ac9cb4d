"""Which grant of the role's trust policy admitted the caller: evidence only, never a decision.

On-call wants to see *why* a caller got in (the account root grant, a GitHub ``sub`` pattern,
an ``ExternalId`` condition) without opening the console. The trust-policy analysis belongs to
:mod:`monitor.inventory.trust`; this hook only asks it, when the role's policy is known, and
stays silent when it is not or when the analysis fails: no detector depends on the answer.
"""

from __future__ import annotations

import logging
from typing import Any

from monitor.enrich import EnrichedEvent

log = logging.getLogger(__name__)

_ACTIONS = {
    "AssumeRole": "sts:AssumeRole",
    "AssumeRoleWithSAML": "sts:AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity": "sts:AssumeRoleWithWebIdentity",
}


def trust_evidence(ev: EnrichedEvent) -> dict[str, Any]:
    """``{"trust_grant": {...}}`` for the best grant admitting the caller, or ``{}``."""
    role = ev.role
    action = _ACTIONS.get(ev.event.event_name)
    if role is None or role.trust_policy is None or action is None:
        return {}
    try:
        return _describe(ev, action)
    except Exception:  # analysis is someone else's module: evidence must never break a finding
        log.debug("trust analysis failed for %s", ev.event.role_arn, exc_info=True)
        return {}


def _describe(ev: EnrichedEvent, action: str) -> dict[str, Any]:
    from monitor.inventory.trust import parse_trust_policy
    from monitor.inventory.trust_match import CallerFacts

    event, caller = ev.event, ev.event.caller
    assert ev.role is not None and ev.role.trust_policy is not None
    federation = event.federation
    facts = CallerFacts(
        action=action,
        principal_arn=caller.session_issuer_arn or caller.arn,
        principal_account=event.principal_account,
        service=caller.invoked_by if caller.identity_type == "AWSService" else None,
        federated_provider=federation.provider if federation else None,
        web_identity_subject=federation.subject if federation else None,
        audience=federation.audience if federation else None,
        external_id_present=event.external_id_present,
        mfa=caller.mfa_authenticated,
    )
    match = parse_trust_policy(dict(ev.role.trust_policy)).best_match(facts)
    if match is None:
        return {"trust_grant": None}
    grant = match.grant
    return {
        "trust_grant": {
            "principal": grant.principal,
            "kind": str(grant.principal_kind),
            "statement": grant.statement_index,
            "sid": grant.sid,
            "verified": match.verified,
            "unverified_conditions": [c.key for c in match.unverified_conditions],
        }
    }
