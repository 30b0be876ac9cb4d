"""Caller-chosen names that claim a person: ``source_identity_mismatch``.

``SourceIdentity`` and the role session name are chosen by whoever calls STS. An identity
provider sets them from a sign-in (a SAML attribute, Identity Center's user name); a machine
session can set them to anything, an engineer's address included, so its calls blend into
that engineer's trail. Per role this keeps who normally sets such names (the setter: a
provider, Identity Center, a role, a service) and reports a name new for the role set by a
setter that never set names for it before. A role's first setter is its setup, learned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from pydantic import Field

from detectors.base import Applies, DetectionContext, Detector, NoOptions, short_role
from detectors.identity import stable_principal
from detectors.windows import learning
from monitor.config.settings import Duration
from monitor.findings import Finding, Severity
from monitor.intake.events import RoleEvent
from monitor.trust.enrich import EnrichedEvent

#: An address, or ``first.last``: the shapes identity providers give people's sessions.
_PERSON = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+|[a-z]+[.][a-z]+(-[a-z]+)?", re.IGNORECASE)
_SSO_SESSION = re.compile(r"AWSReservedSSO_")


def person_shaped(name: str | None) -> bool:
    return bool(name) and _PERSON.fullmatch(name or "") is not None


def claimed_name(event: RoleEvent) -> str | None:
    """The person the session claims: its SourceIdentity, else a person-shaped session name."""
    if event.source_identity:
        return event.source_identity
    return event.role_session_name if person_shaped(event.role_session_name) else None


def setter(event: RoleEvent) -> str:
    """Who chose the name: a provider, Identity Center (any of its sessions), a role, a service."""
    caller = event.caller
    if event.federation is not None:
        return f"{event.federation.kind}:{event.federation.provider_name or 'unknown'}"
    issuer = caller.session_issuer_arn or ""
    if _SSO_SESSION.search(issuer) or _SSO_SESSION.search(caller.arn or ""):
        return "identity-center"
    if caller.identity_type == "AWSService":
        return f"service:{caller.invoked_by or 'unknown'}"
    return stable_principal(caller)


class SourceIdentityOptions(NoOptions):
    learning_period: Duration = Field(
        default=timedelta(days=7),
        description="Time after the first event during which names and setters are only learned.",
    )


class SourceIdentityMismatch(Detector):
    """A SourceIdentity or person-shaped session name new for the role, set by a caller that
    never set names for this role (not the identity provider that normally does).

    ``evidence.claimed`` is the name, ``setter`` who set it and ``usual_setters`` who normally
    does. A person's name set by a machine session or an access key is the caller hiding in
    someone else's trail: find who really holds the session from ``principal``.

    What an attacker could hide behind it: a setter that already set names for the role (the
    usual CI role setting a new person's name), a name that is not person-shaped and no
    SourceIdentity at all, or a role whose only setter so far is the attacker (learned as
    setup).
    """

    id = "source_identity_mismatch"
    applies = Applies(succeeded=True, except_event_names=frozenset({"AssumeRoot"}))
    severity = Severity.MEDIUM
    summary = (
        "A SourceIdentity or person-shaped session name new for the role and not set by the "
        "identity provider that normally sets it."
    )
    needs = ("state (names and setters per role)",)
    dedup_by = "the role and the setter"
    Options = SourceIdentityOptions
    options: SourceIdentityOptions

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        event = ev.event
        if event.event_name == "AssumeRoot":
            return  # the "role" is a root user: no names to compare
        name = claimed_name(event)
        if name is None or not event.succeeded or not event.role_arn:
            return
        at, role, who = event.event_time, event.role_arn, setter(event)
        role_known = ctx.state.touch(f"{self.id}:role", role, at)
        name_known = ctx.state.touch(f"{self.id}:name", f"{role}|{name}", at)
        setter_known = ctx.state.touch(f"{self.id}:setter", f"{role}|{who}", at)
        if role_known is None or name_known is not None or setter_known is not None:
            return
        if learning(ctx, self.options.learning_period, at):
            return
        yield self.finding(
            ev,
            f"{short_role(role)} session claims {name}, set by {who}, which never set names "
            "for this role",
            {"claimed": name, "setter": who, "role_names_since": role_known.isoformat()},
            dedup=f"{role}|{who}",
        )
