"""Workload credentials used from where the workload is not: ``token_replayed_off_network``.

A web-identity token (an EKS IRSA service-account token, a CI job's OIDC token) is a bearer
token: whoever copies it out of a pod or a job log can exchange it for the role's session
from anywhere, and the provider, subject and role all look right. What differs is where the
call comes from and what makes it. The operator declares, per provider or account, the
networks its workloads use (``networks``: CIDRs and VPC endpoints); a token exchanged outside
them, or by a client of another kind than the subject ever used (the AWS CLI on a laptop where
the pod runs an SDK), is reported. Without a ``networks`` entry for the provider or the role's
account the detector says nothing: there is no "outside" to compare with.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.first_seen import subject_family
from detectors.windows import learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.clock import plus
from monitor.trust.enrich import EnrichedEvent
from monitor.trust.network import DECLARED, OTHER, UNDECLARED

#: (user-agent marker, client class): the first that appears names the client.
_CLIENTS = (
    ("aws-cli/", "aws-cli"),
    ("Boto3/", "sdk-python"),
    ("botocore/", "sdk-python"),
    ("aws-sdk-go", "sdk-go"),
    ("aws-sdk-java", "sdk-java"),
    ("aws-sdk-js", "sdk-js"),
    ("aws-sdk-dotnet", "sdk-dotnet"),
    ("aws-sdk-rust", "sdk-rust"),
    ("aws-sdk-ruby", "sdk-ruby"),
    ("aws-sdk-php", "sdk-php"),
    ("terraform", "terraform"),
)


def client_class(user_agent: str | None) -> str:
    """A bounded name for what made the call (``aws-cli``, ``sdk-go``, ..., ``other``)."""
    if not user_agent:
        return "unknown"
    lowered = user_agent.lower()
    return next((cls for marker, cls in _CLIENTS if marker.lower() in lowered), "other")


class OffNetworkOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event during which each subject's client classes "
        "are only learned.",
    )


class TokenReplayedOffNetwork(Detector):
    """A web-identity (IRSA, CI OIDC) token was exchanged for a role session from outside the
    ``networks`` declared for its provider or the role's account, or by a kind of client its
    subject never used.

    ``evidence.network_class`` says where the call came from; ``evidence.client`` and
    ``known_clients`` what made it. A token used off-network is a stolen token until shown
    otherwise: revoke the service account's tokens (rotate the cluster's signing key or delete
    the pod) and check what the session did. Silent without a ``networks`` entry.

    What an attacker could hide behind it: a replay from inside a declared network (a
    compromised host in the VPC) with the subject's usual SDK; a provider or account nobody
    declared networks for; Pod Identity credentials, whose AssumeRole CloudTrail logs as made
    by the service (``pods.eks.amazonaws.com``), not from the pod's address.
    """

    id = "token_replayed_off_network"
    applies = Applies(
        event_names=frozenset({"AssumeRoleWithWebIdentity"}),
        succeeded=True,
        categories=frozenset({"web_identity"}),
    )
    severity = Severity.HIGH
    summary = (
        "A web-identity or IRSA credential used from outside the networks declared for it, or "
        "by another client class than its subject uses (silent without networks)."
    )
    needs = ("the networks setting", "state (client classes per subject)")
    dedup_by = "the subject and role"
    Options = OffNetworkOptions
    options: OffNetworkOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event, federation = ev.event, ev.event.federation
        if ev.network == UNDECLARED or federation is None:
            return
        subject = f"{federation.provider_name}|{subject_family(federation.subject or '')}"
        client = client_class(event.user_agent)
        at = event.event_time
        known = ctx.state.recall(f"{self.id}:clients", subject, at)
        clients = set(known.split(",")) if known else set()
        new_client = bool(clients) and client not in clients
        if ev.network == DECLARED and client not in clients:
            # Learn only from calls inside the declared networks: a replay teaches nothing.
            learned = ",".join(sorted(clients | {client}))
            expires = plus(at, ctx.settings.state.retention)
            ctx.state.remember(f"{self.id}:clients", subject, learned, expires)
        reasons = []
        if ev.network == OTHER:
            reasons.append("outside the declared networks")
        if new_client and not learning(ctx, self.options.learning_period, at):
            reasons.append(f"client {client} never used by this subject")
        if not reasons:
            return
        yield self.finding(
            ev,
            f"{federation.provider_name} token of {federation.subject} exchanged for "
            f"{short_role(event.role_arn)} ({'; '.join(reasons)})",
            {"reasons": reasons, "client": client, "known_clients": sorted(clients)},
            dedup=f"{subject}->{event.role_arn}",
        )
