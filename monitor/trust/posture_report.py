"""The role posture report: per role, who may assume it and how, and what is wrong with that.

Why it exists next to the detectors: a weakness that every legitimate use of a role trips (a
vendor trusted without ExternalId, a GitHub ``sub`` of ``repo:*``) must not page on-call on each
assumption, yet a security team has to see it. This report is where such weaknesses go, together
with what only the state store knows: when each break-glass role was last assumed, and which
cross-account grants nobody used in the observed window (dormant trust to be removed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.config.settings import Settings
from monitor.findings import Severity
from monitor.inventory.catalog import RoleInfo
from monitor.inventory.organization import OrgDirectory
from monitor.inventory.usage import ROLE_ASSUMED, grant_last_used, last_assumed
from monitor.state.store import StateStore
from monitor.trust.admission import describe_condition
from monitor.trust.break_glass import is_break_glass
from monitor.trust.policy import GrantScope, TrustGrant, classify, parse_trust_policy
from monitor.trust.posture import weaknesses

#: Grants from another account: dormant ones are doors left open for nobody.
CROSS_ACCOUNT = frozenset({GrantScope.ORGANIZATION, GrantScope.VENDOR, GrantScope.EXTERNAL})
BREAK_GLASS = "break_glass"
DORMANT = "dormant_cross_account_trust"


@dataclass(frozen=True)
class GrantRow:
    """One principal of one statement: who, by which actions, on which conditions."""

    effect: str
    principal: str
    kind: str
    scope: str
    actions: list[str]
    conditions: list[str]
    last_used: datetime | None = None


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str
    detail: str
    principal: str | None = None


@dataclass(frozen=True)
class RoleRow:
    arn: str
    account: str
    account_name: str | None
    name: str
    source: str
    break_glass: bool
    last_assumed: datetime | None
    grants: list[GrantRow]
    flags: list[Flag]
    problems: list[str] = field(default_factory=list)

    @property
    def worst(self) -> int:
        """Rank of the most severe flag (0 = critical), 9 without flags: for sorting."""
        return min((Severity(flag.severity).rank for flag in self.flags), default=9)


@dataclass(frozen=True)
class Window:
    """The event-time span the state store has seen; None ends when it saw nothing."""

    start: datetime | None
    end: datetime | None
    state: str | None

    @property
    def known(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class PostureReport:
    window: Window
    roles: list[RoleRow]

    def flag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for role in self.roles:
            for code in sorted({flag.code for flag in role.flags}):
                counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "observation": {
                "start": iso_time(self.window.start),
                "end": iso_time(self.window.end),
                "state": self.window.state,
            },
            "summary": {"roles": len(self.roles), "flags": self.flag_counts()},
            "roles": [_role_json(role) for role in self.roles],
        }


def observation_window(state: StateStore | None) -> Window:
    if state is None:
        return Window(None, None, None)
    started = state.get_meta("observation_start")
    ends = [last for _, _, last, _ in state.baseline_keys(ROLE_ASSUMED)]
    start = datetime.fromisoformat(started) if started else None
    return Window(start, max(ends, default=start), state.path)


def build_report(
    roles: list[RoleInfo], settings: Settings, org: OrgDirectory, state: StateStore | None
) -> PostureReport:
    """The report over ``roles`` (the catalog's), most severe first, then by account and name."""
    window = observation_window(state)
    judge = _Judge(settings, org, state, window)
    rows = [judge.role(role) for role in roles]
    rows.sort(key=lambda row: (row.worst, row.account, row.name.lower()))
    return PostureReport(window, rows)


class _Judge:
    def __init__(
        self, settings: Settings, org: OrgDirectory, state: StateStore | None, window: Window
    ) -> None:
        self.settings = settings
        self.org = org
        self.org_accounts = frozenset(org.accounts)
        self.trusted = frozenset(settings.trusted_external_accounts)
        self.org_id = settings.organization.id
        self.state = state
        self.window = window

    def role(self, role: RoleInfo) -> RoleRow:
        policy = parse_trust_policy(dict(role.trust_policy or {}))
        grants = [self._grant(role, grant) for grant in policy.grants]
        flags = [
            Flag(w.code.value, w.severity, w.detail, w.grant.principal)
            for w in weaknesses(policy, role.account, self.org_accounts, self.trusted, self.org_id)
        ]
        glass = is_break_glass(role.arn, role, self.settings.break_glass)
        assumed = last_assumed(self.state, role.arn) if self.state is not None else None
        if glass:
            flags.append(self._break_glass_flag(assumed))
        if not glass:  # a break-glass role is meant to sit unused
            flags.extend(self._dormant(grants))
        problems = list(policy.problems) if role.trust_policy is not None else ["no trust policy"]
        return RoleRow(
            arn=role.arn,
            account=role.account,
            account_name=self.org.name(role.account) or None,
            name=role.name,
            source=role.source,
            break_glass=glass,
            last_assumed=assumed,
            grants=grants,
            flags=flags,
            problems=problems,
        )

    def _grant(self, role: RoleInfo, grant: TrustGrant) -> GrantRow:
        scope = classify(grant, role.account, self.org_accounts, self.trusted)
        used = grant_last_used(self.state, role.arn, grant) if self.state is not None else None
        actions = list(grant.actions) or [f"all but {', '.join(grant.not_actions)}"]
        return GrantRow(
            effect=grant.effect.value,
            principal=grant.principal,
            kind=grant.principal_kind.value,
            scope=scope.value,
            actions=actions,
            conditions=[describe_condition(c) for c in grant.conditions],
            last_used=used,
        )

    def _break_glass_flag(self, assumed: datetime | None) -> Flag:
        if assumed is not None:
            when = f"last assumed {iso_time(assumed)}"
        elif self.window.known:
            when = "not assumed in the observed window"
        else:
            when = "no usage observed yet (no state)"
        return Flag(BREAK_GLASS, Severity.INFO.value, f"break-glass role, {when}")

    def _dormant(self, grants: list[GrantRow]) -> list[Flag]:
        """Cross-account Allow grants never used since observation began."""
        if not self.window.known:
            return []
        since = iso_time(self.window.start)
        return [
            Flag(
                DORMANT,
                Severity.LOW.value,
                f"{grant.scope} grant to {grant.principal} unused since {since}",
                grant.principal,
            )
            for grant in grants
            if grant.effect == "Allow" and grant.scope in CROSS_ACCOUNT and grant.last_used is None
        ]


def _role_json(role: RoleRow) -> dict[str, Any]:
    return {
        "arn": role.arn,
        "account": role.account,
        "account_name": role.account_name,
        "name": role.name,
        "source": role.source,
        "break_glass": role.break_glass,
        "last_assumed": iso_time(role.last_assumed),
        "grants": [
            {**asdict(grant), "last_used": iso_time(grant.last_used)} for grant in role.grants
        ],
        "flags": [asdict(flag) for flag in role.flags],
        "problems": role.problems,
    }


def iso_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
