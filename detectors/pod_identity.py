"""EKS Pod Identity: which workloads a role is handed to: ``pod_identity_new_binding``.

Pod Identity assumes the role as ``pods.eks.amazonaws.com`` and says which pod asked only in
session tags (cluster, namespace, service account). A role's workloads are a small, stable
set; a new namespace reaching a role other workloads already use is how a compromised cluster
admin (or a permissive association) borrows a platform role. A role's very first workload is
the role being set up, learned quietly. Association changes are judged too: handing a
privileged role (break glass, an administrator by name) to pods is reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from fnmatch import fnmatchcase

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.change_finding import change_finding
from detectors.windows import learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import IdentityChange, IdentityService
from monitor.trust.enrich import EnrichedEvent, is_break_glass

POD_IDENTITY = "pods.eks.amazonaws.com"
_CLUSTER_TAGS = ("eks-cluster-arn", "eks-cluster-name")
_DIGITS = re.compile(r"[0-9]+")


class PodIdentityOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event during which bindings are only learned.",
    )
    privileged_role_patterns: tuple[str, ...] = Field(
        default=("*Admin*", "OrganizationAccountAccessRole"),
        description="fnmatch globs on role names that an association must never hand to pods "
        "unnoticed (break-glass roles always count).",
    )


class PodIdentityNewBinding(Detector):
    """A role already used by Pod Identity workloads was reached from a (cluster, namespace,
    service account) never seen for it, or an association was created for a privileged role.

    Check ``evidence.binding`` against the role's owners: a new team's namespace on its own
    new role is routine (a role's first binding is learned, not reported); a namespace
    reaching a role another team's workloads use is not. New bindings of one role merge within
    the dedup window.

    What an attacker could hide behind it: a namespace already bound to the role (a
    compromised pod of the right workload), a brand-new role whose first workload is theirs
    (learned as setup; the association change is reported only for privileged roles), and an
    association with session tags disabled (no binding to compare: not judged).
    """

    id = "pod_identity_new_binding"
    #: The service assumes the role (``userIdentity.type`` AWSService): category "service".
    applies = Applies(
        event_names=frozenset({"AssumeRole"}), succeeded=True, categories=frozenset({"service"})
    )
    severity = Severity.MEDIUM
    summary = (
        "A role reached through EKS Pod Identity by a (cluster, namespace, service account) "
        "never seen for it, or an association created for a privileged role."
    )
    needs = ("state (bindings per role)", "Pod Identity session tags")
    dedup_by = "the role (new bindings merge); the association change"
    Options = PodIdentityOptions
    options: PodIdentityOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.caller.invoked_by != POD_IDENTITY or not event.role_arn:
            return
        binding = _binding(event.session_tags)
        if binding is None:
            return
        at = event.event_time
        role_known = ctx.state.touch(f"{self.id}:role", event.role_arn, at)
        if ctx.state.touch(self.id, f"{event.role_arn}|{binding}", at) is not None:
            return
        if role_known is None or learning(ctx, self.options.learning_period, at):
            return  # the role's first workload, or still learning
        yield self.finding(
            ev,
            f"{short_role(event.role_arn)} reached through Pod Identity by {binding}, "
            "new for this role",
            {"binding": binding, "role_pod_identity_since": role_known.isoformat()},
            dedup=event.role_arn,
        )

    def detect_identity_change(
        self, change: IdentityChange, ctx: DetectionContext
    ) -> Iterable[Finding]:
        if change.service is not IdentityService.POD_IDENTITY or not change.role_arn:
            return
        lookup = ctx.enricher.catalog.lookup(change.role_arn)
        name = change.role_arn.rsplit("/", 1)[-1]
        glass = is_break_glass(change.role_arn, lookup.role, ctx.settings.break_glass)
        if not glass and not any(
            fnmatchcase(name, p) for p in self.options.privileged_role_patterns
        ):
            return
        where = "/".join(
            str(change.detail.get(k, "?")) for k in ("cluster", "namespace", "service_account")
        )
        yield change_finding(
            self,
            change,
            ctx,
            title=f"Pod Identity association hands privileged role {short_role(change.role_arn)}"
            f" to {where} ({change.event_name} by {change.caller.identifier})",
            evidence={
                "change": change.event_name,
                "association": change.resource,
                "role": change.role_arn,
                "break_glass": glass,
                **change.detail,
            },
            dedup=change.event_id,
            account=change.account,
        )


def _binding(tags: dict[str, str]) -> str | None:
    """``cluster/namespace/service-account`` from Pod Identity's session tags, the namespace as
    its template (``pr-1234`` → ``pr-#``): a preview environment per pull request is one
    binding, the way its operator thinks of it."""
    cluster = next((tags[k] for k in _CLUSTER_TAGS if tags.get(k)), None)
    namespace = tags.get("kubernetes-namespace")
    account = tags.get("kubernetes-service-account")
    if not (namespace and account):
        return None
    return f"{(cluster or '?').rsplit('/', 1)[-1]}/{_DIGITS.sub('#', namespace)}/{account}"
