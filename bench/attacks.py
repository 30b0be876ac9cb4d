"""Attacks replayed on top of the fortnights: recall at volume, measured with precision.

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

from bench.growing_org import Account, Org
from bench.growing_org import day_of as growing_day
from bench.growing_org import sso_role as growing_sso_role
from bench.growing_org import workload_role as growing_workload_role
from bench.growing_records import ChangeRecords
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
        *_identity_paths(records),
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


# -- on top of the growing organisation (bench.growing): attacks hiding inside its routine -----


def _identity_paths(records: Records) -> list[Attack]:
    """Issue 22: the identity paths beside trust policies."""
    return [
        Attack(
            "leaked access key mints a 36-hour session token without MFA",
            ("session_token_issued",),
            [_session_token(records)],
        ),
        Attack(
            "low-and-slow enumeration: 14 role names in 5 accounts, one every 30 minutes",
            ("assume_role_slow_enumeration",),
            list(_slow_enumeration(records)),
        ),
    ]


def _session_token(records: Records) -> dict[str, Any]:
    at = DAY + timedelta(hours=2)
    user = "svc-reporting"
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDASVCREPORTING0001",
            "arn": f"arn:aws:iam::{A['data']}:user/{user}",
            "accountId": A["data"],
            "accessKeyId": "AKIASVCREPORTING001",
            "userName": user,
        },
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "sts.amazonaws.com",
        "eventName": "GetSessionToken",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.61",
        "userAgent": CLI,
        "requestParameters": {"durationSeconds": 129600},
        "responseElements": {
            "credentials": {
                "accessKeyId": "ASIASVCREPORTING001",
                "sessionToken": "",
                "expiration": "Nov 18, 2026, 2:00:00 PM",
            }
        },
        "requestID": records._id(),
        "eventID": records._id(),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": A["data"],
        "eventCategory": "Management",
    }


def _slow_enumeration(records: Records) -> Iterator[dict[str, Any]]:
    at = DAY + timedelta(hours=8)
    record, person = records.saml(
        at, sso_role(A["dev"], "PowerUserAccess"), "developer.11@acme.example"
    )
    yield record
    assert person is not None
    names = ("OrganizationAccountAccessRole", "admin", "deploy", "terraform", "ops-admin")
    accounts = (A["prod-a"], A["prod-b"], A["data"], A["cicd"], A["shared"])
    targets = [(acct, name) for name in names for acct in accounts][:14]
    for n, (acct, name) in enumerate(targets):
        target = role_arn(acct, name)
        yield records.assume(
            "AssumeRole",
            at + timedelta(minutes=30 * n),
            person.identity(),
            target,
            "probe",
            ip="198.51.100.91",
            agent=CLI,
            recipient=person.account,
            error=f"User: {person.arn} is not authorized to perform: sts:AssumeRole on "
            f"resource: {target}",
        )[0]


def growing_attacks(org: Org) -> list[Attack]:
    """Issue 19's attacks that hide inside the growing organisation's mechanisms, in the small
    hours after its fortnight (the default one ends on Sunday 6 December 2026: all of them are
    over by 02:40 on the 7th, so none is ever ahead of this machine's clock, which the monitor
    would reject): each looks like a routine class (a hub, a bootstrap, a template, a provider
    rollout) and must still be caught."""
    records = ChangeRecords()
    records.serial = 20_000_000
    day = growing_day(org.shape.days)
    return [
        Attack(
            "hub session pivots to a role name it never used",
            ("role_chain_cross_account", "cross_account_first_seen"),
            list(_hub_pivot(records, org, day)),
        ),
        Attack(
            "fake new-account bootstrap from outside the organisation",
            ("external_account",),
            list(_fake_bootstrap(records, org, day)),
        ),
        Attack(
            "release-tag-shaped subject from a repository outside the organisation",
            ("federation_subject_not_allowed",),
            list(_foreign_tag(records, org, day)),
        ),
        Attack(
            "provider change by a principal that never managed providers",
            ("identity_provider_changed",),
            list(_provider_change(records, org, day)),
        ),
        *_previous_round(records, org, day),
    ]


def _previous_round(records: ChangeRecords, org: Org, day: datetime) -> list[Attack]:
    """Issue 10's five, on the growing organisation's accounts and roles."""
    prod, cicd = _prod(org), org.id("cicd")
    outsider = Session(role_arn(STRANGER, "ops"), "x", "ASIASTRANGER00000003", day)
    at = day + timedelta(minutes=50)
    outside = records.chained(at, outsider, role_arn(prod.id, "TerraformExecution"), "x", agent=CLI)
    return [
        Attack("outside account assumes a prod role", ("external_account",), outside[0]),
        Attack(
            "stolen CI session pivots into an account it never deployed to",
            ("role_chain_cross_account", "cross_account_first_seen"),
            list(_gha_pivot(records, org, day + timedelta(minutes=60))),
        ),
        Attack(
            "GitHub token of a repository outside the organisation",
            ("federation_subject_not_allowed",),
            [
                records.web_identity(
                    day + timedelta(minutes=70),
                    cicd,
                    GITHUB,
                    "repo:evil-fork/orders-api:ref:refs/heads/x",
                    role_arn(cicd, "gha-ci-readonly"),
                    "GitHubActions",
                    agent=CLI,
                    ip="198.51.100.78",
                )[0]
            ],
        ),
        Attack(
            "role enumeration by a person's session, then a pivot",
            ("assume_role_denied_burst", "many_roles_assumed", "flagged_session_used"),
            list(_growing_enumeration(records, org, day + timedelta(minutes=80))),
        ),
        Attack(
            "leaked pod token replayed: a burst of sessions",
            ("role_rate_anomaly",),
            list(_growing_token_replay(records, org, day + timedelta(minutes=100))),
        ),
    ]


def _gha_pivot(records: ChangeRecords, org: Org, at: datetime) -> Iterator[dict[str, Any]]:
    """A staging deploy's session used to reach another team's prod Terraform role."""
    staging = next(a for a in org.initial() if a.env == "staging")
    record, session = records.web_identity(
        at,
        staging.id,
        GITHUB,
        f"repo:acme/{staging.team}-api:ref:refs/heads/main",
        role_arn(staging.id, "gha-deploy"),
        "GitHubActions",
        agent=CLI,
        ip="198.51.100.77",
    )
    yield record
    assert session is not None
    other = [a for a in org.initial() if a.env == "prod" and a.team != staging.team][-1]
    target = role_arn(other.id, "TerraformExecution")
    yield from records.chained(at + timedelta(minutes=2), session, target, "ci", agent=CLI)[0]


def _growing_enumeration(
    records: ChangeRecords, org: Org, at: datetime
) -> Iterator[dict[str, Any]]:
    dev = next(a for a in org.initial() if a.env == "dev")
    record, person = records.saml(
        at, growing_sso_role(dev.id, "PowerUserAccess"), f"{dev.team}.2@acme.example"
    )
    yield record
    assert person is not None
    prods = [a.id for a in org.initial() if a.env == "prod"][:2]
    for name in ("OrganizationAccountAccessRole", "Admin", "admin", "ops-admin", "deploy"):
        for account in prods:
            at += timedelta(seconds=7)
            target = role_arn(account, name)
            yield records.assume(
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
            )[0]
    hop = at + timedelta(minutes=1)
    copies, landed = records.chained(
        hop, person, role_arn(prods[-1], "legacy-admin"), "probe", agent=CLI
    )
    yield from copies
    data = role_arn(org.id("log-archive"), "SecurityAuditReadOnly")
    yield from records.chained(hop + timedelta(minutes=1), landed, data, "p", agent=CLI)[0]


def _growing_token_replay(
    records: ChangeRecords, org: Org, at: datetime
) -> Iterator[dict[str, Any]]:
    cluster = org.clusters[0]
    ns, sa, _, _ = next(w for w in cluster.workloads if not w[3])
    for n in range(400):
        yield records.web_identity(
            at + timedelta(seconds=8 * n),
            cluster.account,
            cluster.issuer,
            f"system:serviceaccount:{ns}:{sa}",
            growing_workload_role(cluster, ns, sa),
            f"s{n}",
            agent="python-requests/2.31.0",
            ip="203.0.113.50",
        )[0]


def _hub_pivot(records: ChangeRecords, org: Org, day: datetime) -> Iterator[dict[str, Any]]:
    """The Terraform hub's session, stolen from a build, reaching a forgotten role that trusts
    the whole CI account (the hub only ever used ``TerraformExecution``)."""
    at = day + timedelta(minutes=10)
    cicd = org.id("cicd")
    record, hub = records.service(
        at, "codebuild.amazonaws.com", role_arn(cicd, "terraform-hub"), "terraform-apply:x"
    )
    yield record
    target = role_arn(_prod(org).id, "legacy-deploy")
    yield from records.chained(at + timedelta(minutes=1), hub, target, "tf", agent=CLI)[0]


def _fake_bootstrap(records: ChangeRecords, org: Org, day: datetime) -> Iterator[dict[str, Any]]:
    """Control Tower's role names from an account that never joined: not a bootstrap."""
    at = day + timedelta(minutes=20)
    admin = role_arn(STRANGER, "AWSControlTowerAdmin", "/service-role/")
    caller = Session(admin, "AWSControlTowerAdmin", "ASIASTRANGER00000002", at)
    joined = [a for a in org.accounts if a.joins is not None] or org.accounts
    target = role_arn(joined[-1].id, "AWSControlTowerExecution")
    yield from records.chained(at, caller, target, "AWSControlTowerExecution", agent=CLI)[0]


def _foreign_tag(records: ChangeRecords, org: Org, day: datetime) -> Iterator[dict[str, Any]]:
    record, _ = records.web_identity(
        day + timedelta(minutes=30),
        _prod(org).id,
        GITHUB,
        "repo:acme-archive/payments-api:ref:refs/tags/v2.11.0",
        role_arn(_prod(org).id, "gha-deploy"),
        "GitHubActions",
        agent=CLI,
        ip="198.51.100.79",
    )
    yield record


def _provider_change(records: ChangeRecords, org: Org, day: datetime) -> Iterator[dict[str, Any]]:
    """A developer's Identity Center session adds an audience to the GitHub provider."""
    at = day + timedelta(minutes=40)
    staging = next(a for a in org.initial() if a.env == "staging")
    record, person = records.saml(
        at, growing_sso_role(staging.id, "PowerUserAccess"), f"{staging.team}.3@acme.example"
    )
    yield record
    assert person is not None
    provider = f"arn:aws:iam::{staging.id}:oidc-provider/{GITHUB}"
    at += timedelta(minutes=4)
    yield records.add_client_id(at, person, provider, "sts.evil.example", CLI)


def _prod(org: Org) -> Account:
    return next(a for a in org.initial() if a.env == "prod" and a.github)
