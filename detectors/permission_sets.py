"""IAM Identity Center: a permission set is a role in every account it is assigned to:
``permission_set_escalation``.

Who may sign in as what is decided by permission sets, their policies and account assignments,
none of which is a trust policy. An intruder with Identity Center admin rights creates a user,
a permission set with AdministratorAccess, assigns it, and signs in: only the first sign-in
reaches STS, as an ordinary-looking ``AssumeRoleWithSAML`` into ``AWSReservedSSO_<name>_…``.
This remembers permission sets created recently or given an administrator policy, and the
users created recently, and reports their assignment and their first sign-ins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions
from detectors.change_finding import change_finding
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.clock import plus
from monitor.intake.events import IdentityChange, IdentityService
from monitor.trust.enrich import EnrichedEvent

#: ``AWSReservedSSO_<permission set name>_<16 hex>``: the role Identity Center makes per account.
_SSO_ROLE = re.compile(r"AWSReservedSSO_(.+)_[0-9a-f]{16}")
_POLICY_CHANGES = frozenset(
    {
        "AttachManagedPolicyToPermissionSet",
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        "PutInlinePolicyToPermissionSet",
    }
)


class PermissionSetOptions(NoOptions):
    recent: Duration = Field(
        default=timedelta(days=7),
        description="A permission set (or user) created within this long counts as new.",
    )
    admin_policies: tuple[str, ...] = Field(
        default=("AdministratorAccess", "IAMFullAccess"),
        description="fnmatch globs on managed policy names that make a permission set an "
        "administrator (an inline policy allowing every action on every resource always does).",
    )


class PermissionSetEscalation(Detector):
    """A permission set created recently or given an administrator policy was assigned, or a
    principal signed in for the first time through a recently created permission set.

    Check who created the permission set and the assignment (``evidence.created_by``), and
    whether the user signing in was itself created minutes earlier (``user_created``).
    Assignments of long-standing, non-administrator permission sets are routine and not
    reported.

    What an attacker could hide behind it: assigning an existing administrator permission set
    created before the monitor's memory (``recent``) and never changed since; granting a
    group rather than a user (group membership changes are read but not judged); a custom
    policy that is admin in effect without allowing every action on every resource.
    """

    id = "permission_set_escalation"
    applies = Applies(event_names=frozenset({"AssumeRoleWithSAML"}), succeeded=True)
    severity = Severity.HIGH
    summary = (
        "An IAM Identity Center permission set is created or given an administrator policy "
        "and assigned, or a principal signs in first to a recently created permission set."
    )
    needs = ("Identity Center change events on the input", "state (recent permission sets)")
    dedup_by = "the assignment record; the (subject, permission set) of a sign-in"
    Options = PermissionSetOptions
    options: PermissionSetOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        match = _SSO_ROLE.fullmatch(event.role_name or "")
        if match is None or event.federation is None:
            return
        name, at = match.group(1), event.event_time
        created = ctx.state.recall(f"{self.id}:created", name, at)
        if created is None:
            return
        subject = event.federation.subject or event.caller.identifier
        if ctx.state.touch(f"{self.id}:signin", f"{subject}|{name}", at) is not None:
            return
        user = ctx.state.recall(f"{self.id}:user", subject, at)
        yield self.finding(
            ev,
            f"{subject} signed in for the first time through permission set {name}, created "
            f"{created}" + (f"; the user itself was created {user}" if user else ""),
            {
                "permission_set": name,
                "permission_set_created": created,
                "user_created": user,
                "admin": ctx.state.recall(f"{self.id}:admin", name, at) is not None,
            },
            dedup=f"{subject}|{name}",
        )

    def detect_identity_change(
        self, change: IdentityChange, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if change.service is IdentityService.IDENTITY_STORE:
            self._remember_user(change, ctx)
            return
        if change.service is not IdentityService.IDENTITY_CENTER:
            return
        if change.event_name == "CreatePermissionSet":
            self._remember_created(change, ctx)
        elif change.event_name in _POLICY_CHANGES and self._admin(change):
            self._remember(ctx, "admin", change.resource, change)
        elif change.event_name == "CreateAccountAssignment":
            yield from self._assignment(change, ctx)

    def _assignment(self, change: IdentityChange, ctx: DetectionContext) -> Iterable[Finding]:
        arn = change.detail.get("permission_set_arn") or change.resource
        at = change.event_time
        created = ctx.state.recall(f"{self.id}:created", arn, at) if arn else None
        admin = ctx.state.recall(f"{self.id}:admin", arn, at) if arn else None
        if created is None and admin is None:
            return  # a long-standing, non-administrator permission set: routine
        name = ctx.state.recall(f"{self.id}:name", arn, at) if arn else None
        why = ", ".join(
            w for w in ("administrator" if admin else "", "new" if created else "") if w
        )
        yield change_finding(
            self,
            change,
            ctx,
            title=f"Permission set {name or arn} ({why}) assigned to "
            f"{change.detail.get('principal_type', 'principal')} "
            f"{change.detail.get('principal_id', '?')} in account "
            f"{change.detail.get('target_account', '?')} (by {change.caller.identifier})",
            evidence={
                "change": change.event_name,
                "permission_set": name,
                "permission_set_created": created,
                "administrator_policy": admin,
                **change.detail,
            },
            dedup=change.event_id,
            account=change.detail.get("target_account") or change.account,
        )

    def _admin(self, change: IdentityChange) -> bool:
        if change.detail.get("inline_policy_admin"):
            return True
        policy = str(change.detail.get("managed_policy_arn", "")).rsplit("/", 1)[-1]
        return bool(policy) and any(fnmatchcase(policy, g) for g in self.options.admin_policies)

    def _remember_created(self, change: IdentityChange, ctx: DetectionContext) -> None:
        name = change.detail.get("name")
        self._remember(ctx, "created", change.resource, change)
        self._remember(ctx, "created", name, change)
        if change.resource and name:
            expires = plus(change.event_time, self.options.recent)
            ctx.state.remember(f"{self.id}:name", change.resource, str(name), expires)

    def _remember_user(self, change: IdentityChange, ctx: DetectionContext) -> None:
        if change.event_name == "CreateUser":
            self._remember(ctx, "user", change.detail.get("user_name"), change)

    def _remember(
        self, ctx: DetectionContext, what: str, key: object, change: IdentityChange
    ) -> None:
        """``what`` of ``key`` happened at the change, by its caller, for ``recent``."""
        if not key:
            return
        value = f"{_ago(change.event_time)} by {change.caller.identifier}"
        expires = plus(change.event_time, self.options.recent)
        if what == "admin":
            # An administrator permission set stays one: kept for the state's retention.
            expires = plus(change.event_time, ctx.settings.state.retention)
        ctx.state.remember(f"{self.id}:{what}", str(key), value, expires)


def _ago(at: datetime) -> str:
    return f"at {at.isoformat()}"
