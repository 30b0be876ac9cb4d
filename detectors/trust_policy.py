"""A role's trust policy changed to let in someone it did not before: ``trust_policy_opened``.

This is the backdoor-role technique (Stratus ``iam-backdoor-role``, ``iam-create-backdoor-role``):
an attacker with IAM write access adds an outside principal to a role's trust policy and comes
back through it later. Judged on the change itself (UpdateAssumeRolePolicy, CreateRole), before
anyone uses the door. Three ways of opening count, the same the posture report names:

- ``public_principal``: ``*`` (or NotPrincipal) without a condition pinning the caller's account;
- ``untrusted_external_account``: an account outside the organization and not a trusted vendor;
- ``oidc_without_sub``: a web-identity provider with no ``sub`` condition (any workload of it).

A weakness the role already had before the change is not reported again; when the earlier policy
is unknown (no snapshot, not in the live cache), every opening grant of the new one is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from detectors.base import NO_ASSUMPTION, DetectionContext, Detector, short_role
from monitor.findings import Finding, Severity
from monitor.inventory.catalog import LookupStatus, RoleLookup
from monitor.inventory.changes import ChangeKind, RoleChange
from monitor.trust.admission import describe_condition
from monitor.trust.enrich import EnrichedEvent
from monitor.trust.policy import classify, parse_trust_policy
from monitor.trust.posture import Weakness, WeaknessCode, weaknesses

OPENING = frozenset(
    {
        WeaknessCode.PUBLIC_PRINCIPAL,
        WeaknessCode.UNTRUSTED_EXTERNAL_ACCOUNT,
        WeaknessCode.OIDC_WITHOUT_SUB,
        WeaknessCode.ROLES_ANYWHERE_UNPINNED,
    }
)


class TrustPolicyOpened(Detector):
    id = "trust_policy_opened"
    applies = NO_ASSUMPTION
    severity = Severity.HIGH
    summary = (
        "A role's trust policy was set (UpdateAssumeRolePolicy, CreateRole) to admit '*', an "
        "account outside the organization and not trusted, or an OIDC provider without a sub "
        "condition."
    )
    needs = ("IAM role-change events on the input", "organization accounts")

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        """Role assumptions are not changes: nothing to judge (see :meth:`detect_change`)."""
        return ()

    def detect_change(
        self, change: RoleChange, before: RoleLookup, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if not change.sets_trust_policy or change.trust_policy is None:
            return
        opened = self._opened(change, ctx)
        previous = _previous(before, change, ctx)
        new = [w for w in opened if previous is None or _identity(w) not in previous]
        if new:
            yield self._finding(change, new, ctx, previous_known=previous is not None)

    def _opened(self, change: RoleChange, ctx: DetectionContext) -> list[Weakness]:
        policy = parse_trust_policy(change.trust_policy)
        found = weaknesses(policy, change.account, *_accounts(ctx))
        return [w for w in found if w.code in OPENING]

    def _finding(
        self,
        change: RoleChange,
        opened: list[Weakness],
        ctx: DetectionContext,
        previous_known: bool,
    ) -> Finding:
        caller = change.caller
        principals = ", ".join(sorted({w.grant.principal for w in opened}))
        title = (
            f"Trust policy of {short_role(change.role_arn)} opened to {principals} "
            f"({change.kind.value} by {caller.identifier})"
        )
        return Finding(
            detector=self.id,
            severity=self.severity,
            title=title,
            event_id=change.event_id,
            event_time=change.event_time,
            event_name=change.kind.value,
            role_arn=change.role_arn,
            role_account=change.account,
            principal=caller.identifier,
            principal_account=caller.account_id,
            source_ip=change.source_ip,
            user_agent=change.user_agent,
            dedup_key=f"{self.id}:{change.event_id}",
            evidence=_evidence(change, opened, ctx, previous_known),
            assumption_id=change.event_id,
            category=ctx.enricher.account_relation(caller.account_id, change.account),
            metadata="stream",
            region=change.aws_region,
        )


def _accounts(ctx: DetectionContext) -> tuple[frozenset[str], frozenset[str], str | None]:
    """Who is inside: member accounts, trusted vendors, and the organization id (for
    ``aws:PrincipalOrgID`` / ``aws:PrincipalOrgPaths`` conditions judged by value)."""
    return (
        frozenset(ctx.org.accounts),
        frozenset(ctx.settings.trusted_external_accounts),
        ctx.settings.organization.id,
    )


def _previous(
    before: RoleLookup, change: RoleChange, ctx: DetectionContext
) -> set[tuple[str, str]] | None:
    """Opening weaknesses of the policy before the change; None when it is not known."""
    if change.kind is ChangeKind.CREATE:
        return set()  # a new role had no one to admit
    role = before.role
    if before.status is not LookupStatus.FOUND or role is None or role.trust_policy is None:
        return None
    found = weaknesses(parse_trust_policy(dict(role.trust_policy)), role.account, *_accounts(ctx))
    return {_identity(w) for w in found if w.code in OPENING}


def _identity(weakness: Weakness) -> tuple[str, str]:
    return weakness.code.value, weakness.grant.principal


def _evidence(
    change: RoleChange, opened: list[Weakness], ctx: DetectionContext, previous_known: bool
) -> dict[str, Any]:
    org, trusted, _ = _accounts(ctx)
    evidence = {
        "change": change.kind.value,
        "role_name": change.role_name,
        "opened": [
            {
                "code": w.code.value,
                "detail": w.detail,
                "principal": w.grant.principal,
                "scope": classify(w.grant, change.account, org, trusted).value,
                "conditions": [describe_condition(c) for c in w.grant.conditions],
            }
            for w in opened
        ],
        "previous_policy_known": previous_known,
        "identity_type": change.caller.identity_type,
        "session_issuer": change.caller.session_issuer_arn,
        "event_ids": [change.event_id],
    }
    return {key: value for key, value in evidence.items() if value is not None}
