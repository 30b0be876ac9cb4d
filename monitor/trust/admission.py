"""Which trust-policy grant let an event's caller in, and how a finding should say so.

Why: an assumption event tells who got in, the role's trust policy tells who was *meant* to. The
grant that admitted the caller turns "web-identity subject X assumed role R" into "... through
the wildcard ``sub`` grant ``repo:*``", which is what the person fixing it needs. The facts come
from the event alone (no AWS calls); what the event cannot decide is reported as unverified.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.aws.principals import IdentityType
from monitor.intake.events import RoleEvent
from monitor.trust.match import CallerFacts, GrantMatch, best_match
from monitor.trust.policy import TrustCondition, TrustGrant, TrustPolicy

#: STS calls judged against a role's trust policy, with the action they need.
ACTIONS = {
    "AssumeRole": "sts:AssumeRole",
    "AssumeRoleWithSAML": "sts:AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity": "sts:AssumeRoleWithWebIdentity",
}


def caller_facts(event: RoleEvent) -> list[CallerFacts]:
    """The event's facts about its caller, once per ARN the caller is known by.

    An assumed-role session is tried as its session ARN and as its issuer role's ARN: a grant
    may name either, and only the issuer ARN keeps the role's path. Empty for calls that no
    trust policy governs (AssumeRoot, GetSessionToken, ...).
    """
    action = ACTIONS.get(event.event_name)
    if action is None:
        return []
    caller, federation = event.caller, event.federation
    external_id, mfa = _external_id(event), _mfa(event)
    service = caller.invoked_by if caller.identity_type == IdentityType.AWS_SERVICE else None

    def known_as(arn: str | None) -> CallerFacts:  # not dataclasses.replace: 4x slower
        return CallerFacts(
            action=action,
            principal_arn=arn,
            principal_account=event.principal_account,
            service=service,
            federated_provider=federation.provider if federation else None,
            web_identity_subject=federation.subject if federation else None,
            audience=federation.audience if federation else None,
            external_id_present=external_id,
            mfa=mfa,
        )

    facts = [known_as(caller.arn)]
    issuer = caller.session_issuer_arn
    if caller.is_role_session and issuer and issuer != caller.arn:
        facts.append(known_as(issuer))
    return facts


def best_admission(policy: TrustPolicy, facts: Iterable[CallerFacts]) -> GrantMatch | None:
    """The best-verified admitting grant over every way the caller is known."""
    found = [match for fact in facts if (match := best_match(policy, fact)) is not None]
    if not found:
        return None
    return min(found, key=lambda m: (not m.verified, len(m.unverified_conditions)))


def grant_key(role_arn: str, grant: TrustGrant) -> str:
    """A stable name for one grant of one role (kept in the state store as ``grant_used``).

    Statement order is left out, so reordering a policy does not make its grants look new.
    """
    conditions = ";".join(sorted(describe_condition(c) for c in grant.conditions))
    return f"{role_arn}|{grant.principal_kind.value}:{grant.principal}|{conditions}"


def describe_condition(condition: TrustCondition) -> str:
    """``StringLike token.actions.githubusercontent.com:sub = repo:*`` (one line)."""
    values = ", ".join(condition.values)
    return f"{condition.operator} {condition.key} = {values}"


def grant_evidence(
    match: GrantMatch | None, scope: str | None, weaknesses: Iterable[str], why_none: str
) -> dict[str, Any]:
    """The ``trust_grant`` evidence entry of a finding."""
    if match is None:
        return {"admitted_by": None, "reason": why_none}
    grant = match.grant
    evidence: dict[str, Any] = {
        "principal": grant.principal,
        "principal_kind": grant.principal_kind.value,
        "scope": scope,
        "statement": grant.sid or grant.statement_index,
        "conditions": [describe_condition(c) for c in grant.conditions],
        "verified": match.verified,
    }
    if match.unverified_conditions:
        evidence["unverified"] = [describe_condition(c) for c in match.unverified_conditions]
    if not match.principal_verified:
        evidence["unverified_principal"] = "the event names only the caller's account"
    codes = sorted(set(weaknesses))
    if codes:
        evidence["weaknesses"] = codes
    return evidence


def _external_id(event: RoleEvent) -> bool | None:
    """Sent or not; a failed call often lost its request parameters, so absence says little."""
    if event.external_id_present:
        return True
    return False if event.succeeded else None


def _mfa(event: RoleEvent) -> bool | None:
    """MFA in the caller's session, or an MFA code presented with this very call."""
    if event.mfa_serial_present:
        return True
    caller = event.caller
    if caller.mfa_authenticated is not None:
        return caller.mfa_authenticated
    if caller.identity_type == IdentityType.IAM_USER and event.succeeded:
        return False  # long-term access keys, no MFA code in the request
    return None
