"""Centralized root access (``sts:AssumeRoot``): a short root session in a member account.

AssumeRoot exists for a handful of tasks (audit or delete root credentials, unlock an S3 bucket
or SQS queue policy) and each session is scoped by one AWS-managed *task policy*. Every success
pages; a task outside the operator's allow-list and a refused attempt are findings of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions
from detectors.identity import principal_key
from monitor.findings import Finding, Severity
from monitor.intake.events import RoleEvent
from monitor.trust.enrich import EnrichedEvent

_TASK_POLICY_PREFIX = "arn:aws:iam::aws:policy/root-task/"
#: AssumeRoot is logged in the caller's account only: the management (or delegated admin) one.
#: The one call the root detectors judge.
_ROOT = frozenset({"AssumeRoot"})
_NEEDS = ("the trail of the account that calls AssumeRoot (management or delegated admin)",)


def _task(event: RoleEvent) -> str:
    """The task policy's short name (``IAMAuditRootUserCredentials``) for titles."""
    policy = event.task_policy_arn or "unknown task"
    return policy.removeprefix(_TASK_POLICY_PREFIX)


def _root_evidence(event: RoleEvent) -> dict[str, object]:
    return {
        "target_account": event.target_principal,
        "task_policy_arn": event.task_policy_arn,
        "duration_seconds": event.duration_seconds,
    }


class RootSession(Detector):
    """A root session was opened in a member account through ``sts:AssumeRoot``.

    Every success is its own finding: a root session is rare and powerful. Confirm the task
    (``evidence.task_policy_arn``) against a change ticket.
    """

    id = "root_session"
    applies = Applies(event_names=_ROOT, succeeded=True)
    severity = Severity.CRITICAL
    summary = "AssumeRoot (centralized root access) succeeded."
    needs = _NEEDS

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        yield self.finding(
            ev,
            f"Root session in account {event.target_principal} ({_task(event)}) "
            f"opened by {event.caller.identifier}",
            _root_evidence(event),
        )


class RootSessionDenied(Detector):
    """An ``sts:AssumeRoot`` call failed.

    Only a few principals of the management (or delegated administrator) account should ever
    call AssumeRoot; a refusal means someone tried without the permission, or against an
    account outside the organization. Merged per (caller, target account).
    """

    id = "root_session_denied"
    applies = Applies(event_names=_ROOT, succeeded=False)
    dedup_by = "caller and target account"
    severity = Severity.HIGH
    summary = "An AssumeRoot (centralized root access) attempt failed."
    needs = _NEEDS

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        yield self.finding(
            ev,
            f"Denied AssumeRoot ({event.error_code}) into account "
            f"{event.target_principal or 'unknown'} by {event.caller.identifier}",
            _root_evidence(event),
            dedup=f"{principal_key(event.caller)}->{event.target_principal}",
        )


class RootTaskOptions(NoOptions):
    allowed_task_policies: list[str] = Field(
        default=[f"{_TASK_POLICY_PREFIX}IAMAuditRootUserCredentials"],
        description="Task policy ARNs (fnmatch globs) a root session may be opened with.",
    )


class RootTaskPolicyNotAllowed(Detector):
    """A root session was opened with a task policy outside ``allowed_task_policies``.

    The default allows only the read-only audit task; deleting root credentials, creating a
    root password or unlocking a bucket/queue policy changes the account and should match a
    runbook. A missing task policy is reported as not allowed.
    """

    id = "root_task_policy_not_allowed"
    applies = Applies(event_names=_ROOT, succeeded=True)
    severity = Severity.HIGH
    summary = "AssumeRoot succeeded with a task policy outside the allow-list."
    needs = _NEEDS
    Options = RootTaskOptions
    options: RootTaskOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        allowed = self.options.allowed_task_policies
        policy = event.task_policy_arn
        if policy and any(fnmatchcase(policy, pattern) for pattern in allowed):
            return
        yield self.finding(
            ev,
            f"Root session in account {event.target_principal} with task {_task(event)}, "
            "which is not allowed",
            {**_root_evidence(event), "allowed_task_policies": list(allowed)},
        )
