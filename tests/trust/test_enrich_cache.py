"""Enrichment remembers per role version and per caller, and answers as if it did not.

The enricher keeps a role's facts per catalog version of the role and the admitting grant per
(policy, the caller facts the match can depend on). Each test here would fail if a cache served
an answer computed for another policy, another role version or a caller it cannot stand for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from helpers import assume_role, iam_user

from monitor.config.settings import Settings
from monitor.intake.events import RoleEvent
from monitor.intake.normalize import normalize
from monitor.inventory.catalog import RoleCatalog
from monitor.inventory.organization import OrgDirectory
from monitor.inventory.roles import LookupStatus, RoleInfo, RoleLookup
from monitor.inventory.snapshot import SnapshotSource
from monitor.trust.admission import best_admission, caller_facts
from monitor.trust.enrich import EnrichedEvent, Enricher
from monitor.trust.policy import classify, parse_trust_policy

OWNER, OTHER = "222222222222", "333333333333"
TARGET = f"arn:aws:iam::{OWNER}:role/Target"
CI = f"arn:aws:iam::{OTHER}:role/ci"


def settings() -> Settings:
    return Settings(
        organization={"accounts": [OWNER, OTHER]},
        break_glass={"role_tags": {"break-glass": "true"}},
        state={"path": ":memory:"},
        metrics={"port": None},
    )


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return {**statement, "Condition": condition} if condition else statement


def target(trust: dict[str, Any] | None, tags: dict[str, str] | None = None) -> RoleInfo:
    return RoleInfo(TARGET, OWNER, "Target", "test", tags=tags or {}, trust_policy=trust)


def enricher(source: Any) -> Enricher:
    return Enricher(settings(), RoleCatalog([source]), OrgDirectory({OWNER: "o", OTHER: "x"}))


def session(role: str, name: str, account: str = OTHER) -> dict[str, Any]:
    """The ``userIdentity`` of session ``name`` of role ``role``."""
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
        "accountId": account,
        "principalId": f"AROAEXAMPLEEXAMPLE:{name}",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-01T09:00:00Z"},
        },
    }


def event(caller: dict[str, Any], n: int = 0) -> RoleEvent:
    found = normalize(assume_role(TARGET, caller, event_id=f"00000000-0000-4000-8000-{n:012d}"))
    assert isinstance(found, RoleEvent)
    return found


def uncached(ev: RoleEvent, role: RoleInfo) -> tuple[Any, Any]:
    """The admitting grant and its scope, matched from scratch."""
    policy = parse_trust_policy(dict(role.trust_policy or {}))
    match = best_admission(policy, caller_facts(ev))
    if match is None:
        return None, None
    return match, classify(match.grant, OWNER, frozenset({OWNER, OTHER}), frozenset())


CALLERS = [
    session("ci", "build-1"),
    session("ci", "build-2"),
    session("deploy", "build-1"),
    session("ci", "build-1", account=OWNER),
    iam_user(OTHER, "alice"),
    iam_user(OTHER, "bob"),
    {"type": "AWSAccount", "accountId": OTHER, "principalId": "AROAEXAMPLEEXAMPLE:build-1"},
]

POLICIES = {
    "account root": document(allow({"AWS": f"arn:aws:iam::{OTHER}:root"})),
    "role": document(allow({"AWS": CI})),
    "one session": document(allow({"AWS": f"arn:aws:sts::{OTHER}:assumed-role/ci/build-1"})),
    "one user": document(allow({"AWS": f"arn:aws:iam::{OTHER}:user/alice"})),
    "principal arn condition": document(
        allow({"AWS": "*"}, StringLike={"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/c*"})
    ),
    "all but one session": document(
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": f"arn:aws:sts::{OTHER}:assumed-role/ci/build-2"},
            "Action": "sts:AssumeRole",
        }
    ),
    "deny a role": document(
        allow({"AWS": f"arn:aws:iam::{OTHER}:root"}),
        {"Effect": "Deny", "Principal": {"AWS": CI}, "Action": "sts:AssumeRole"},
    ),
}


@pytest.mark.parametrize("name", POLICIES)
def test_cached_grants_are_those_matched_from_scratch(name: str) -> None:
    """Every caller twice, in an order where each can only be answered from another's entry
    if the cache wrongly took them for the same (two sessions of one role, a user and another
    user, a session and its role's owner copy)."""
    role = target(POLICIES[name])
    cached = enricher(SnapshotSource([role]))
    for round_ in range(2):
        for n, caller in enumerate(CALLERS):
            ev = event(caller, n)
            got = cached.enrich(ev)
            assert (got.grant, got.grant_scope) == uncached(ev, role), (name, round_, caller)


def test_sessions_of_one_role_share_one_answer() -> None:
    """What makes the cache pay: a role session's name does not split the entries unless a
    principal of the policy names a session."""
    cached = enricher(SnapshotSource([target(POLICIES["role"])]))
    grants = [cached.enrich(event(session("ci", f"build-{n}"), n)).grant for n in range(50)]
    assert grants[0] is not None and all(g is grants[0] for g in grants)
    assert len(cached._admissions) == 1


class Refreshing:
    """A live-like source whose answer a refresh replaces (a new TTL period of live IAM)."""

    name = "live"

    def __init__(self, role: RoleInfo) -> None:
        self.role = role

    def lookup(self, account: str, role_name: str) -> RoleLookup:
        return RoleLookup(LookupStatus.FOUND, self.role, self.name)

    def roles(self) -> Iterable[RoleInfo]:
        return [self.role]


def grant_principal(found: EnrichedEvent) -> str | None:
    return found.grant.grant.principal if found.grant else None


def test_a_refreshed_role_is_enriched_from_its_new_version() -> None:
    """A refresh replaces the role: its policy, grant, weaknesses and break-glass status
    follow at the next assumption, however warm the cache was for the same caller."""
    source = Refreshing(target(POLICIES["role"]))
    cached = enricher(source)
    caller = session("ci", "build-1")
    warm = [cached.enrich(event(caller, n)) for n in range(3)]
    assert [grant_principal(f) for f in warm] == [CI] * 3 and not warm[0].break_glass
    source.role = target(POLICIES["account root"], tags={"break-glass": "true"})
    after = cached.enrich(event(caller, 3))
    assert grant_principal(after) == f"arn:aws:iam::{OTHER}:root" and after.break_glass
    source.role = target(document(allow({"AWS": f"arn:aws:iam::{OWNER}:root"})))
    gone = cached.enrich(event(caller, 4))
    assert gone.grant is None and not gone.break_glass
    assert gone.trust_grant_evidence() == {"admitted_by": None, "reason": "no visible grant"}


def test_attacker_chosen_callers_do_not_grow_the_caches() -> None:
    """Session names that a policy reads (one entry per session) still cost bounded memory."""
    cached = enricher(SnapshotSource([target(POLICIES["one session"])]))
    cached._admissions.size = 16
    for n in range(200):
        found = cached.enrich(event(session("ci", f"x{n}"), n))
        assert found.grant is None or n == 0
    assert len(cached._admissions) == 16
    first = cached.enrich(event(session("ci", "build-1"), 999))
    assert grant_principal(first) == f"arn:aws:sts::{OTHER}:assumed-role/ci/build-1"


def test_policy_documents_are_shared_but_versions_are_not() -> None:
    """Two roles with one document share the parse; a role's new document is parsed anew."""
    twin = RoleInfo(
        f"arn:aws:iam::{OWNER}:role/Twin", OWNER, "Twin", "test", trust_policy=POLICIES["role"]
    )
    source = Refreshing(target(json.loads(json.dumps(POLICIES["role"]))))
    cached = enricher(source)
    one = cached.enrich(event(session("ci", "a"), 1))
    other = cached.role_facts(twin, twin.arn)
    assert one.trust is not None and other.policy is not None
    assert other.policy.policy is one.trust
    source.role = target(POLICIES["account root"])
    assert cached.enrich(event(session("ci", "a"), 2)).trust is not one.trust


GITHUB = f"arn:aws:iam::{OWNER}:oidc-provider/token.actions.githubusercontent.com"


def web_identity(subject: str, n: int) -> RoleEvent:
    record = assume_role(TARGET, {}, event_id=f"00000000-0000-4000-8000-{n:012d}")
    record["eventName"] = "AssumeRoleWithWebIdentity"
    record["userIdentity"] = {
        "type": "WebIdentityUser",
        "userName": subject,
        "identityProvider": GITHUB,
        "principalId": f"{GITHUB}:sts.amazonaws.com:{subject}",
    }
    record["responseElements"].update(
        subjectFromWebIdentityToken=subject, provider=GITHUB, audience="sts.amazonaws.com"
    )
    found = normalize(record)
    assert isinstance(found, RoleEvent)
    return found


def test_web_identity_subjects_are_told_apart_when_a_condition_reads_them() -> None:
    sub = {"token.actions.githubusercontent.com:sub": "repo:acme/*"}
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": GITHUB},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": sub},
    }
    role = target(document(statement))
    cached = enricher(SnapshotSource([role]))
    subjects = ["repo:acme/app:ref:refs/heads/main", "repo:evil/app:ref:refs/heads/main"]
    for n, subject in enumerate(subjects * 2):
        ev = web_identity(subject, n)
        assert cached.enrich(ev).grant == uncached(ev, role)[0], subject
    assert cached.enrich(web_identity(subjects[1], 9)).grant is None


def test_trust_policy_answers_the_shared_parse_with_its_weaknesses() -> None:
    """``Enricher.trust_policy`` (read by the organization-change detector for every known
    role) answers from the same entries as enrichment."""
    role = target(document(allow({"AWS": "*"})))
    cached = enricher(SnapshotSource([role]))
    parsed = cached.trust_policy(role)
    assert parsed is not None
    policy, weak = parsed
    assert policy is cached.enrich(event(session("ci", "a"))).trust
    assert [w.code.value for w in weak] == ["public_principal"]
    assert cached.trust_policy(target(None)) is None
