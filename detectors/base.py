"""What every detector shares: its declarative metadata, its context, and finding assembly.

A detector is a pure function of (enriched event, context, state): it never does I/O except
through ``ctx.state``, and it never reads the wall clock, so a replay is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict

from monitor.aws.arns import account_field, last_segment
from monitor.config.settings import Settings
from monitor.findings import Finding, Severity
from monitor.inventory.organization import OrgDirectory
from monitor.state.store import StateStore
from monitor.trust.enrich import EnrichedEvent, Enricher
from monitor.trust.network import identity_evidence


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class DetectionContext:
    settings: Settings
    org: OrgDirectory
    enricher: Enricher
    state: StateStore
    #: Event time of the newest event seen so far (the pipeline's clock).
    now: datetime
    #: Event time of the first event the state store ever saw (learning periods count from it).
    observation_start: datetime


@dataclass(frozen=True)
class Applies:
    """Which assumptions a detector hook can act on: fire, or write state. ``None``: any.

    The pipeline runs a hook only on assumptions its declaration admits (see
    :mod:`detectors.dispatch`), so the hook may take it as given and never restates it: the
    declaration is the one place a detector says which assumptions it acts on (fires or
    changes state). tests/detect/test_dispatch.py replays the golden cases and the bench
    streams with the dispatch table and with every declaration checked afresh per assumption,
    and compares findings and state.
    """

    #: Event names (``AssumeRole``, ``AssumeRoot``, ...) it runs on, or None for all; then
    #: ``except_event_names`` are left out.
    event_names: frozenset[str] | None = None
    except_event_names: frozenset[str] = frozenset()
    #: True: successful calls only; False: failed calls only; None: both.
    succeeded: bool | None = None
    #: Caller categories (:meth:`monitor.trust.enrich.Enricher.category`), or None for all; then
    #: ``except_categories`` are left out.
    categories: frozenset[str] | None = None
    except_categories: frozenset[str] = frozenset()
    #: True: break-glass roles only.
    break_glass: bool | None = None
    #: True: SAML / web-identity calls only (``event.federation`` set).
    federated: bool | None = None
    #: True: cross-account calls only (``event.is_cross_account``).
    cross_account: bool | None = None

    def admits(self, key: DispatchKey) -> bool:
        """True when an assumption with these traits may make the hook act."""
        return (
            (self.event_names is None or key.event_name in self.event_names)
            and key.event_name not in self.except_event_names
            and _fits(self.succeeded, key.succeeded)
            and (self.categories is None or key.category in self.categories)
            and key.category not in self.except_categories
            and _fits(self.break_glass, key.break_glass)
            and _fits(self.federated, key.federated)
            and _fits(self.cross_account, key.cross_account)
        )


def _fits(wanted: bool | None, actual: bool) -> bool:
    return wanted is None or wanted == actual


class DispatchKey(NamedTuple):
    """The traits of an assumption that decide which detector hooks run on it (bounded: event
    names are the in-scope ones, categories a fixed set)."""

    event_name: str
    succeeded: bool
    category: str
    break_glass: bool
    federated: bool
    cross_account: bool

    @classmethod
    def of(cls, ev: EnrichedEvent) -> DispatchKey:
        event = ev.event
        return cls(
            event.event_name,
            event.error_code is None,
            ev.category,
            ev.break_glass,
            event.federation is not None,
            event.is_cross_account,
        )


#: Failed calls only (bursts of AccessDenied).
FAILED = Applies(succeeded=False)
#: Detectors of change events: their ``detect`` never acts on an assumption.
NO_ASSUMPTION = Applies(event_names=frozenset())


class Detector:
    """Base class: subclasses set the ClassVars and implement :meth:`detect`."""

    id: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    #: What it needs beyond the event: "state", "trust metadata", "organization".
    needs: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: What repeats of a finding share (its dedup key), for the documentation; keep it in step
    #: with the ``dedup`` argument the detector passes to :meth:`finding`.
    dedup_by: ClassVar[str] = "the assumption: every event is its own finding"
    #: Which assumptions :meth:`detect` runs on (it may take this as given); None: every one.
    applies: ClassVar[Applies | None] = None
    #: The same for :meth:`after`; a detector that does not override it never runs it.
    after_applies: ClassVar[Applies | None] = None

    def __init__(self, options: BaseModel | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def detect(self, ev: EnrichedEvent, ctx: DetectionContext) -> Iterable[Finding]:
        raise NotImplementedError

    def after(self, ev: EnrichedEvent, ctx: DetectionContext, findings: Sequence[Finding]) -> None:
        """Second pass over ``ev`` once every detector has run: ``findings`` is what fired on it
        (severity overrides applied, suppressed findings left out).

        For detectors that follow the consequences of a finding, such as the sessions of an
        identity just flagged. It yields nothing, so no finding ever depends on the order in
        which detectors run. The default does nothing.
        """

    def finding(
        self,
        ev: EnrichedEvent,
        title: str,
        evidence: dict[str, Any],
        dedup: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding on ``ev`` with the contract's fields filled from the event.

        ``dedup`` names what repeats of this finding share (merged within the dedup window);
        by default every assumption is its own finding.
        """
        event = ev.event
        return Finding(
            detector=self.id,
            severity=severity or self.severity,
            title=title,
            event_id=event.event_id,
            event_time=event.event_time,
            event_name=event.event_name,
            role_arn=event.role_arn,
            role_account=event.role_account,
            principal=event.caller.identifier,
            principal_account=event.principal_account,
            source_ip=event.source_ip,
            user_agent=event.user_agent,
            dedup_key=f"{self.id}:{dedup or event.assumption_id}",
            evidence={**base_evidence(ev), **evidence},
            assumption_id=event.assumption_id,
            category=ev.category,
            metadata=ev.lookup.label,
            region=event.aws_region,
        )


def base_evidence(ev: EnrichedEvent) -> dict[str, Any]:
    """Who, from where, into what, with or without MFA: enough to decide without a console."""
    event, caller = ev.event, ev.event.caller
    evidence: dict[str, Any] = {
        "identity_type": caller.identity_type,
        "mfa_authenticated": caller.mfa_authenticated,
        "session_issuer": caller.session_issuer_arn,
        "source_identity": event.source_identity or caller.source_identity,
        "invoked_by": caller.invoked_by,
        "role_session_name": event.role_session_name,
        "external_id_present": event.external_id_present,
        "error_code": event.error_code,
        "error_message": event.error_message,
        "event_ids": [event.event_id],
        "shared_event_id": event.shared_event_id,
        "copy": event.copy_kind.value,
        "issued_session": event.assumed_role_arn,
        "credentials_expiration": (
            event.credentials_expiration.isoformat() if event.credentials_expiration else None
        ),
        "role_tags": dict(ev.role.tags) if ev.role else None,
        "role_metadata": ev.lookup.label,
        # Which trust-policy grant let the caller in (computed once, in enrichment).
        "trust_grant": ev.trust_grant_evidence(),
        # Network class, Pod Identity / Roles Anywhere tags: decide from the finding alone.
        **identity_evidence(ev.network, event),
    }
    if event.federation is not None:
        evidence["federation"] = event.federation.evidence()
    return {key: value for key, value in evidence.items() if value not in (None, {}, [])}


def short_role(arn: str | None) -> str:
    """``Name (123456789012)`` for titles."""
    if not arn:
        return "an unknown role"
    return f"{last_segment(arn)} ({account_field(arn) or '?'})"
