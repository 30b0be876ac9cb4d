"""Attacks replayed on top of the ordinary fortnight: recall at volume, measured with precision.

After the ordinary organisation's fourteen days, ``make noise`` replays these into a copy of
the same state, on the Monday after (16 November 2026), and reports which detector caught each
one. Each attack is built from the same record shapes as the workload, against the same
accounts and roles, so it has to stand out from a baseline that already knows the
organisation's routine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.org import ACCOUNTS, EKS_ISSUER, GITHUB, PODS, irsa_role, sso_role
from bench.org_records import Records, Session, role_arn

A = ACCOUNTS
DAY = datetime(2026, 11, 16, tzinfo=UTC)
STRANGER = "666677778888"
CLI = "aws-cli/2.17.20 Python/3.11.9 Darwin/23.5.0 exe/x86_64"


@dataclass(frozen=True)
class Attack:
    name: str
    #: Detectors of which at least one must fire on the attack's records.
    expect: tuple[str, ...]
    records: list[dict[str, Any]]


def attacks() -> list[Attack]:
    records = Records()
    records.serial = 10_000_000  # ids apart from the workload's
    return [
        Attack(
            "outside account assumes a prod role",
            ("external_account",),
            list(_outsider(records)),
        ),
        Attack(
            "stolen CI session pivots into an account it never deployed to",
            ("role_chain_cross_account", "cross_account_first_seen"),
            list(_ci_pivot(records)),
        ),
        Attack(
            "GitHub token of a repository outside the organisation",
            ("federation_subject_not_allowed",),
            list(_foreign_repo(records)),
        ),
        Attack(
            "role enumeration by a person's session, then a pivot",
            ("assume_role_denied_burst", "many_roles_assumed", "flagged_session_used"),
            list(_enumeration(records)),
        ),
        Attack(
            "leaked pod token replayed: a burst of sessions",
            ("role_rate_anomaly",),
            list(_token_replay(records)),
        ),
    ]


def _outsider(records: Records) -> Iterator[dict[str, Any]]:
    caller = Session(role_arn(STRANGER, "ops"), "x", "ASIASTRANGER00000001", DAY)
    yield from records.chained(
        DAY + timedelta(hours=3), caller, role_arn(A["prod-a"], "TerraformApply"), "x", agent=CLI
    )[0]


def _ci_pivot(records: Records) -> Iterator[dict[str, Any]]:
    at = DAY + timedelta(hours=4)
    record, session = records.web_identity(
        at,
        A["cicd"],
        GITHUB,
        "repo:acme/docs:ref:refs/heads/main",
        role_arn(A["cicd"], "gha-deployer"),
        "GitHubActions",
        agent=CLI,
        ip="198.51.100.77",
    )
    yield record
    assert session is not None
    # The CDK deploy role trusts the whole CI account; this pipeline never deployed to data.
    target = role_arn(A["data"], f"cdk-hnb659fds-deploy-role-{A['data']}-us-east-1")
    yield from records.chained(at + timedelta(minutes=2), session, target, "ci", agent=CLI)[0]


def _foreign_repo(records: Records) -> Iterator[dict[str, Any]]:
    record, _ = records.web_identity(
        DAY + timedelta(hours=5),
        A["cicd"],
        GITHUB,
        "repo:evil-fork/orders-api:ref:refs/heads/x",
        role_arn(A["cicd"], "gha-deployer"),
        "GitHubActions",
        agent=CLI,
        ip="198.51.100.78",
    )
    yield record


def _enumeration(records: Records) -> Iterator[dict[str, Any]]:
    at = DAY + timedelta(hours=10)
    record, person = records.saml(
        at, sso_role(A["dev"], "PowerUserAccess"), "developer.07@acme.example"
    )
    yield record
    assert person is not None
    guesses = [
        "OrganizationAccountAccessRole",
        "Admin",
        "admin",
        "AWSControlTowerExecution",
        "ops-admin",
        "TerraformApply",
        "db-snapshot-reader",
    ]
    for name in guesses:
        for acct in (A["prod-a"], A["prod-b"]):
            at += timedelta(seconds=7)
            target = role_arn(acct, name)
            failed, _ = records.assume(
                "AssumeRole",
                at,
                person.identity(),
                target,
                "probe",
                ip="198.51.100.90",
                agent=CLI,
                recipient=person.account,
                error=f"User: {person.arn} is not authorized to perform: sts:AssumeRole on "
                f"resource: {target}",
            )
            yield failed
    # The one that works (a forgotten role trusting the dev account), then a pivot from it.
    hop = at + timedelta(minutes=1)
    copies, landed = records.chained(
        hop, person, role_arn(A["prod-b"], "legacy-admin"), "probe", agent=CLI
    )
    yield from copies
    yield from records.chained(
        hop + timedelta(minutes=1), landed, role_arn(A["data"], "settlement-reader"), "p", agent=CLI
    )[0]


def _token_replay(records: Records) -> Iterator[dict[str, Any]]:
    ns, sa, acct, _ = PODS[0]
    at = DAY + timedelta(hours=13)
    for n in range(400):
        record, _ = records.web_identity(
            at + timedelta(seconds=8 * n),
            acct,
            EKS_ISSUER,
            f"system:serviceaccount:{ns}:{sa}",
            irsa_role(acct, ns, sa),
            f"s{n}",
            agent="python-requests/2.31.0",
            ip="203.0.113.50",
        )
        yield record
