"""An ordinary organisation at volume, with no attack in it: the workload of ``make noise``.

Fourteen days on the real calendar (Monday 2 November 2026 to Sunday 15 November: two
weekends, so the first week is learned and the second holds a Monday surge after a quiet
weekend), twelve member accounts, and the traffic an organisation of ~120 people makes:

- AWS services (Lambda cold starts, EC2 instance profiles, ECS tasks, nightly AWS Backup);
- EKS pods through IRSA, refreshing hourly; one dev pod with a mistyped role failing all
  fortnight, and one prod deploy on Wednesday whose typo fails for an afternoon before the fix;
- GitHub Actions OIDC from the organisation's own repositories, deploying through the CI hub
  (CDK deploy roles in each workload account), Terraform from a CI runner, StackSets from the
  management account, and a weekly Terraform drift audit one hop deeper;
- ~120 people through IAM Identity Center in working hours (a weekend dip, a Monday surge),
  three joiners in the second week;
- a security scanner assuming a read-only role in every account hourly, two vendors polling
  with their ExternalId, a nightly export and a weekly cost report across accounts, and the
  quarterly access review (its first run in the monitor's history, on the second Thursday).

Everything is drawn from one seeded generator: the same seed gives the same bytes. The config,
the `list-accounts` output and one `get-account-authorization-details` file per account (trust
policies, so enrichment matches grants) are written alongside.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.org_records import (
    EKS_ISSUER,
    GITHUB,
    SSO_PROVIDER,
    Records,
    Session,
    role_arn,
    role_id,
    unique,
)

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS = 14
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"

ACCOUNTS = {
    "management": "210000000001",
    "security": "210000000002",
    "cicd": "210000000003",
    "network": "210000000004",
    "logs": "210000000005",
    "data": "210000000006",
    "prod-a": "210000000007",
    "prod-b": "210000000008",
    "staging": "210000000009",
    "dev": "210000000010",
    "sandbox": "210000000011",
    "shared": "210000000012",
}
A = ACCOUNTS
VENDORS = {
    "monitoring": ("999988887777", "DatadogIntegrationRole", "VendorMonitoring", "dd-8c1f2e"),
    "finops": ("888877776666", "CostExplorerSync", "VendorCostReader", "finops-ac7702"),
}
WORKLOADS = ("prod-a", "prod-b", "staging", "dev")
PERMISSION_SETS = {
    "AdministratorAccess": "3c1b9a7e5d2f4680",
    "PowerUserAccess": "8d2e6f1a0b4c7395",
    "ReadOnlyAccess": "a15f3d9c7e2b8046",
    "DataAnalyst": "b7c04e1f9a3d6285",
    "Billing": "c9e8d7f6a5b41302",
    "SecurityAudit": "d02f5a8c3e7b1964",
}
CLI = "aws-cli/2.17.20 Python/3.11.9 Linux/6.1.97 exe/x86_64.amzn.2023"
BOTO = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.4"
GHA = "aws-sdk-nodejs/2.1692.0 linux/v20.17.0 configure-aws-credentials-for-github-actions"
TERRAFORM = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 aws-sdk-go-v2/1.30.4 os/linux"
REPOS = [
    f"acme/{name}"
    for name in (
        "orders-api",
        "payments",
        "catalog",
        "search",
        "web-frontend",
        "mobile-bff",
        "inventory",
        "shipping",
        "notifications",
        "auth-service",
        "reporting",
        "etl-jobs",
        "ml-scoring",
        "infra-cdk",
        "platform-terraform",
        "docs",
        "design-system",
        "recommendations",
        "billing",
        "fraud-rules",
        "gateway",
        "admin-console",
        "data-contracts",
        "observability",
    )
]
#: (namespace, service account, account, replicas): the pods using IRSA.
PODS = [
    (ns, sa, A[acct], replicas)
    for acct in ("prod-a", "staging")
    for ns, sa, replicas in (
        ("orders", "orders-api", 3),
        ("payments", "payments-worker", 2),
        ("catalog", "catalog-sync", 2),
        ("search", "indexer", 2),
        ("observability", "fluent-bit", 3),
        ("kube-system", "external-dns", 1),
        ("kube-system", "cluster-autoscaler", 1),
        ("kube-system", "ebs-csi-controller", 2),
    )
]
LAMBDAS = [
    ("prod-a", "orders-api-fn", 40),
    ("prod-b", "image-resize-fn", 25),
    ("prod-a", "webhook-receiver-fn", 15),
    ("staging", "orders-api-fn", 4),
]
INSTANCES = [
    (acct, f"{acct}-app-instance", n)
    for acct, n in (("prod-a", 12), ("prod-b", 8), ("staging", 4), ("dev", 4))
]
TASKS = [("prod-b", "ledger-task", 6), ("data", "ingest-task", 4), ("shared", "proxy-task", 3)]
JOINERS = {  # (day index, team): people who start in the second week
    "new.hire1@acme.example": (8, "developer"),
    "new.hire2@acme.example": (9, "data"),
    "new.hire3@acme.example": (10, "developer"),
}
ACCESS_REVIEW_DAY = 10  # Thursday 12 November: the quarter's run
TYPO_DAY = 9  # Wednesday 11 November: payments deploy with a mistyped role ARN


def sso_role(account: str, permission_set: str) -> str:
    suffix = PERMISSION_SETS[permission_set]
    return role_arn(account, f"AWSReservedSSO_{permission_set}_{suffix}", SSO_PATH)


def irsa_role(account: str, namespace: str, service_account: str) -> str:
    return role_arn(account, f"eks-{namespace}-{service_account}")


@dataclass
class Person:
    name: str
    team: str
    #: (role ARN, weight): where this person works, the first the most.
    assignments: list[tuple[str, float]]
    starts: int = 0  # day index of their first working day


def people(rng: random.Random) -> list[Person]:
    """~120 people in teams, each with a few Identity Center assignments they routinely use."""
    teams = {"platform": 14, "developer": 68, "data": 20, "finance": 6, "security": 9}
    folks: list[Person] = []
    for team, size in teams.items():
        for n in range(size):
            folks.append(Person(f"{team}.{n:02d}@acme.example", team, assignments(team, rng)))
    for name, (day, team) in JOINERS.items():
        folks.append(Person(name, team, assignments(team, rng), starts=day))
    return folks


def assignments(team: str, rng: random.Random) -> list[tuple[str, float]]:
    if team == "platform":
        home = rng.sample(list(ACCOUNTS.values()), 3)
        return [
            (sso_role(home[0], "AdministratorAccess"), 5.0),
            (sso_role(home[1], "AdministratorAccess"), 3.0),
            (sso_role(home[2], "ReadOnlyAccess"), 2.0),
        ]
    if team == "developer":
        workload = rng.choice(("prod-a", "prod-b"))
        return [
            (sso_role(A["dev"], "PowerUserAccess"), 6.0),
            (sso_role(A["staging"], "PowerUserAccess"), 3.0),
            (sso_role(A[workload], "ReadOnlyAccess"), 2.0),
        ]
    if team == "data":
        return [
            (sso_role(A["data"], "DataAnalyst"), 8.0),
            (sso_role(A["logs"], "ReadOnlyAccess"), 2.0),
        ]
    if team == "finance":
        return [(sso_role(A["management"], "Billing"), 1.0)]
    return [
        (sso_role(A["security"], "SecurityAudit"), 5.0),
        (sso_role(A["logs"], "ReadOnlyAccess"), 3.0),
    ]


def is_weekend(day: datetime) -> bool:
    return day.weekday() >= 5


@dataclass
class Workload:
    """The generator: ``days()`` yields (date, records of that day sorted by event time)."""

    seed: int = 20261102
    days_count: int = DAYS
    rng: random.Random = field(init=False)
    records: Records = field(default_factory=Records)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.people = people(self.rng)

    def days(self) -> Iterator[tuple[datetime, list[dict[str, Any]]]]:
        for index in range(self.days_count):
            day = START + timedelta(days=index)
            out: list[tuple[datetime, dict[str, Any]]] = []
            for part in (
                self.services,
                self.pods,
                self.humans,
                self.ci,
                self.scanner,
                self.vendors,
                self.scheduled,
                self.crash_loops,
            ):
                out.extend(part(index, day))
            out.sort(key=lambda pair: pair[0])
            yield day, [record for _, record in out]

    # -- helpers -----------------------------------------------------------------------------

    def _at(self, day: datetime, hour: float, jitter_minutes: float = 0) -> datetime:
        seconds = hour * 3600 + self.rng.uniform(0, jitter_minutes * 60)
        return day + timedelta(seconds=int(seconds))

    def _activity(self, day: datetime, hour: int) -> float:
        """Share of the working-hours peak at ``hour`` UTC (the company works 08-18 UTC)."""
        if is_weekend(day):
            return 0.08 if 9 <= hour < 17 else 0.02
        surge = 1.6 if day.weekday() == 0 and 8 <= hour < 12 else 1.0
        if 8 <= hour < 18:
            return surge * (0.7 if hour in (12, 13) else 1.0)
        return 0.15 if 6 <= hour < 21 else 0.04

    def _poisson(self, mean: float) -> int:
        # Knuth's method: small means only (per hour and key), deterministic with the rng.
        if mean <= 0:
            return 0
        if mean > 30:
            return max(0, int(self.rng.gauss(mean, mean**0.5)))
        limit, k, product = pow(2.718281828459045, -mean), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    # -- the organisation's parts -----------------------------------------------------------

    def services(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        for hour in range(24):
            load = 0.25 + 0.75 * self._activity(day, hour)
            for acct, fn, peak in LAMBDAS:
                role = role_arn(A[acct], fn + "-role")
                for _ in range(self._poisson(peak * load)):
                    at = self._at(day, hour, 60)
                    record, _ = self.records.service(at, "lambda.amazonaws.com", role, fn)
                    yield at, record
            for acct, name, count in INSTANCES:
                role = role_arn(A[acct], name)
                for n in range(count):
                    if (hour + n) % 6 == 0:  # instance profile credentials rotate ~6-hourly
                        at = self._at(day, hour, 60)
                        session = "i-0" + unique("", acct, str(n), length=15).lower()
                        record, _ = self.records.service(at, "ec2.amazonaws.com", role, session)
                        yield at, record
            for acct, name, count in TASKS:
                role = role_arn(A[acct], name)
                for n in range(count):
                    at = self._at(day, hour, 60)
                    record, _ = self.records.service(
                        at, "ecs-tasks.amazonaws.com", role, f"{name}-{n}-{at:%H}"
                    )
                    yield at, record
        for acct in ACCOUNTS.values():  # nightly AWS Backup
            at = self._at(day, 1, 30)
            role = role_arn(acct, "AWSBackupDefaultServiceRole", "/service-role/")
            record, _ = self.records.service(at, "backup.amazonaws.com", role, "AWSBackup")
            yield at, record

    def pods(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        for ns, sa, acct, replicas in PODS:
            subject = f"system:serviceaccount:{ns}:{sa}"
            for replica in range(replicas):
                for hour in range(24):
                    at = self._at(day, hour, 60)
                    role = irsa_role(acct, ns, sa)
                    broken = (
                        index == TYPO_DAY
                        and sa == "payments-worker"
                        and acct == A["prod-a"]
                        and 9.5 <= hour < 16
                    )
                    if broken:
                        continue  # the typo'd deploy: see crash_loops
                    record, session = self.records.web_identity(
                        at,
                        acct,
                        EKS_ISSUER,
                        subject,
                        role,
                        f"botocore-session-{int(at.timestamp())}{replica}",
                        agent=BOTO,
                        ip=f"10.42.{replica}.{17 + hour}",
                    )
                    yield at, record
                    if sa == "payments-worker" and session is not None:
                        # The worker reads settlement files in the data account, hourly.
                        later = at + timedelta(seconds=5)
                        target = role_arn(A["data"], "settlement-reader")
                        for copy in self.records.chained(
                            later, session, target, "payments-settlement", agent=BOTO
                        )[0]:
                            yield later, copy

    def humans(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        weekend = is_weekend(day)
        for person in self.people:
            if index < person.starts:
                continue
            present = 0.06 if weekend else 0.92
            if self.rng.random() >= present:
                continue
            surge = 1.6 if day.weekday() == 0 else 1.0
            sessions = max(1, self._poisson(2.2 * surge))
            roles, weights = zip(*person.assignments, strict=True)
            for _ in range(sessions):
                hour = self.rng.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17))
                at = self._at(day, hour, 60)
                role = self.rng.choices(roles, weights)[0]
                record, _ = self.records.saml(at, role, person.name)
                yield at, record

    def ci(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        """GitHub Actions runs (CI read-only and deploys through the hub), Terraform, StackSets."""
        hub = A["cicd"]
        for hour in range(24):
            runs = self._poisson(28 * self._activity(day, hour))
            for _ in range(runs):
                at = self._at(day, hour, 60)
                repo = self.rng.choice(REPOS)
                deploy = self.rng.random() < 0.3
                ref = "ref:refs/heads/main" if deploy else "pull_request"
                subject = f"repo:{repo}:{ref}"
                role = role_arn(hub, "gha-deployer" if deploy else "gha-ci-readonly")
                record, session = self.records.web_identity(
                    at,
                    hub,
                    GITHUB,
                    subject,
                    role,
                    "GitHubActions",
                    agent=GHA,
                    ip=f"52.154.{self.rng.randrange(256)}.{self.rng.randrange(256)}",
                )
                yield at, record
                if deploy and session is not None:
                    target = A[self.rng.choice(WORKLOADS)]
                    cdk = role_arn(target, f"cdk-hnb659fds-deploy-role-{target}-us-east-1")
                    hop = at + timedelta(seconds=20)
                    for copy in self.records.chained(
                        hop, session, cdk, "aws-cdk-deploy", agent=GHA, ip=record["sourceIPAddress"]
                    )[0]:
                        yield hop, copy
        if not is_weekend(day):
            yield from self._terraform(day, 10.5, deep=False)
            yield from self._terraform(day, 15.0, deep=False)
        if day.weekday() == 6:
            yield from self._terraform(day, 2.0, deep=True)
        if day.weekday() in (1, 4):  # StackSets rollouts, Tuesdays and Fridays
            yield from self._stacksets(day)

    def _terraform(self, day: datetime, hour: float, deep: bool) -> Iterator[tuple[datetime, dict]]:
        """CI runner instance → terraform-runner → TerraformApply in each account (hub and
        spoke); the weekly drift audit goes one hop further, to read state in the logs account.
        """
        hub = A["cicd"]
        at = self._at(day, hour, 10)
        record, instance = self.records.service(
            at, "ec2.amazonaws.com", role_arn(hub, "ci-runner-instance"), "i-0a1b2c3d4e5f60718"
        )
        yield at, record
        at += timedelta(seconds=30)
        records, runner = self.records.chained(
            at, instance, role_arn(hub, "terraform-runner"), "terraform", agent=TERRAFORM
        )
        for r in records:
            yield at, r
        for acct in ACCOUNTS.values():
            if acct == hub:
                continue
            at += timedelta(seconds=self.rng.randrange(20, 90))
            records, apply = self.records.chained(
                at, runner, role_arn(acct, "TerraformApply"), "terraform-apply", agent=TERRAFORM
            )
            for r in records:
                yield at, r
            if deep:
                at += timedelta(seconds=10)
                records, _ = self.records.chained(
                    at,
                    apply,
                    role_arn(A["logs"], "TerraformStateReader"),
                    "drift-audit",
                    agent=TERRAFORM,
                )
                for r in records:
                    yield at, r

    def _stacksets(self, day: datetime) -> Iterator[tuple[datetime, dict]]:
        mgmt = A["management"]
        at = self._at(day, 11, 30)
        admin = role_arn(mgmt, "AWSCloudFormationStackSetAdministrationRole")
        record, session = self.records.service(
            at, "cloudformation.amazonaws.com", admin, "stacksets-rollout"
        )
        yield at, record
        for acct in ACCOUNTS.values():
            if acct == mgmt:
                continue
            at += timedelta(seconds=self.rng.randrange(5, 40))
            target = role_arn(acct, "AWSCloudFormationStackSetExecutionRole")
            records, _ = self.records.chained(
                at,
                session,
                target,
                "stacksets-rollout",
                agent="cloudformation.amazonaws.com",
                ip="cloudformation.amazonaws.com",
            )
            for r in records:
                yield at, r

    def scanner(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        """The security scanner: an ECS task in the security account, every account hourly."""
        sec = A["security"]
        for hour in range(24):
            at = self._at(day, hour, 5)
            record, task = self.records.service(
                at, "ecs-tasks.amazonaws.com", role_arn(sec, "security-scanner"), "scan"
            )
            yield at, record
            for acct in ACCOUNTS.values():
                at += timedelta(seconds=self.rng.randrange(2, 12))
                target = role_arn(acct, "SecurityAuditReadOnly")
                records, _ = self.records.chained(
                    at, task, target, f"scan-{at:%Y%m%d%H}", agent=BOTO, ip="10.30.4.12"
                )
                for r in records:
                    yield at, r

    def vendors(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        """Two vendors polling through their ExternalId grant: monitoring every 15 minutes in
        every account, FinOps hourly in the management and logs accounts."""
        account, vendor_role, role, external = VENDORS["monitoring"]
        for slot in range(96):
            for acct in ACCOUNTS.values():
                at = self._at(day, slot / 4, 2)
                yield (
                    at,
                    self.records.vendor(
                        at,
                        account,
                        vendor_role,
                        role_arn(acct, role),
                        external,
                        "aws-sdk-go/1.55.5 (go1.22.6; linux; amd64) datadog-integration",
                    ),
                )
        account, vendor_role, role, external = VENDORS["finops"]
        for hour in range(24):
            for acct in (A["management"], A["logs"]):
                at = self._at(day, hour, 10)
                yield (
                    at,
                    self.records.vendor(
                        at, account, vendor_role, role_arn(acct, role), external, BOTO
                    ),
                )

    def scheduled(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        """Nightly export, the weekly cost report (Sundays), the quarterly access review."""
        at = self._at(day, 0, 20)
        record, etl = self.records.service(
            at, "glue.amazonaws.com", role_arn(A["data"], "nightly-export"), "GlueJobRunner"
        )
        yield at, record
        for acct in ("prod-a", "prod-b"):
            at += timedelta(seconds=40)
            records, _ = self.records.chained(
                at, etl, role_arn(A[acct], "db-snapshot-reader"), "nightly-export", agent=BOTO
            )
            for r in records:
                yield at, r
        if day.weekday() == 6:
            yield from self._fan_out(day, 3, "cost-report", "CostReportReader")
        if index == ACCESS_REVIEW_DAY:
            yield from self._fan_out(day, 6, "access-review", "AccessReviewReader")

    def _fan_out(
        self, day: datetime, hour: int, job: str, target_role: str
    ) -> Iterator[tuple[datetime, dict]]:
        """A Lambda job in the security account reading every account through one role."""
        at = self._at(day, hour, 10)
        record, session = self.records.service(
            at, "lambda.amazonaws.com", role_arn(A["security"], job), job
        )
        yield at, record
        for acct in ACCOUNTS.values():
            if acct == A["security"]:
                continue
            at += timedelta(seconds=self.rng.randrange(3, 30))
            records, _ = self.records.chained(
                at, session, role_arn(acct, target_role), job, agent=BOTO
            )
            for r in records:
                yield at, r

    def crash_loops(self, index: int, day: datetime) -> Iterator[tuple[datetime, dict]]:
        """Pods whose role ARN is mistyped: each retry is an AccessDenied web-identity call.

        The dev pod fails all fortnight (nobody fixed it); the payments deploy of the second
        Wednesday fails for an afternoon, then the fix brings back its ordinary sessions.
        """
        dev = A["dev"]
        yield from self._retrying(
            day,
            0,
            24,
            dev,
            "system:serviceaccount:reports:report-builder",
            role_arn(dev, "eks-reports-report-bulider"),
        )
        if index == TYPO_DAY:
            prod = A["prod-a"]
            yield from self._retrying(
                day,
                9.5,
                16,
                prod,
                "system:serviceaccount:payments:payments-worker",
                role_arn(prod, "eks-payments-payments-wroker"),
            )

    def _retrying(
        self, day: datetime, start: float, end: float, account: str, subject: str, role: str
    ) -> Iterator[tuple[datetime, dict]]:
        at = day + timedelta(hours=start)
        stop = day + timedelta(hours=end)
        while at < stop:
            record, _ = self.records.web_identity(
                at,
                account,
                EKS_ISSUER,
                subject,
                role,
                f"botocore-session-{int(at.timestamp())}",
                agent=BOTO,
                ip="10.42.9.31",
                error=True,
            )
            yield at, record
            at += timedelta(seconds=self.rng.randrange(30, 150))


# -- the organisation's configuration and inventory ----------------------------------------


def _statement(principal: dict[str, Any], action: str = "sts:AssumeRole", **cond: Any) -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        statement["Condition"] = cond
    return statement


def _role(arn: str, *statements: dict[str, Any]) -> dict[str, Any]:
    path = "/" + arn.split(":role/", 1)[1].rsplit("/", 1)[0] + "/"
    return {
        "Path": path.replace("//", "/"),
        "RoleName": arn.rsplit("/", 1)[-1],
        "RoleId": role_id(arn),
        "Arn": arn,
        "CreateDate": "2025-06-01T10:00:00+00:00",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        "Tags": [],
        "RoleLastUsed": {},
    }


def _aws(arn: str) -> dict[str, str]:
    return {"AWS": arn}


def roles_of(account: str) -> list[dict[str, Any]]:
    """Every role the workload assumes in ``account``, with the trust policy that admits it."""
    hub, sec, mgmt = A["cicd"], A["security"], A["management"]
    saml = {"Federated": f"arn:aws:iam::{account}:saml-provider/{SSO_PROVIDER}"}
    sso_cond = {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    roles = [
        _role(sso_role(account, ps), _statement(saml, "sts:AssumeRoleWithSAML", **sso_cond))
        for ps in PERMISSION_SETS
    ]
    roles += [
        _role(
            role_arn(account, "SecurityAuditReadOnly"),
            _statement(_aws(role_arn(sec, "security-scanner"))),
        ),
        _role(
            role_arn(account, "TerraformApply"), _statement(_aws(role_arn(hub, "terraform-runner")))
        ),
        _role(
            role_arn(account, "AWSCloudFormationStackSetExecutionRole"),
            _statement(_aws(role_arn(mgmt, "AWSCloudFormationStackSetAdministrationRole"))),
        ),
        _role(
            role_arn(account, "CostReportReader"), _statement(_aws(role_arn(sec, "cost-report")))
        ),
        _role(
            role_arn(account, "AccessReviewReader"),
            _statement(_aws(role_arn(sec, "access-review"))),
        ),
        _role(
            role_arn(account, f"cdk-hnb659fds-deploy-role-{account}-us-east-1"),
            _statement(_aws(f"arn:aws:iam::{hub}:root")),
        ),
        _role(
            role_arn(account, "AWSBackupDefaultServiceRole", "/service-role/"),
            _statement({"Service": "backup.amazonaws.com"}),
        ),
    ]
    for vendor_account, _, name, external in VENDORS.values():
        roles.append(
            _role(
                role_arn(account, name),
                _statement(
                    _aws(f"arn:aws:iam::{vendor_account}:root"),
                    StringEquals={"sts:ExternalId": external},
                ),
            )
        )
    roles += _workload_roles(account)
    return roles


def _workload_roles(account: str) -> list[dict[str, Any]]:
    hub, sec, mgmt, data = A["cicd"], A["security"], A["management"], A["data"]
    roles: list[dict[str, Any]] = []
    service = {"lambda": "lambda.amazonaws.com", "ec2": "ec2.amazonaws.com"}
    for acct, fn, _ in LAMBDAS:
        if A[acct] == account:
            roles.append(
                _role(role_arn(account, fn + "-role"), _statement({"Service": service["lambda"]}))
            )
    for acct, name, _ in INSTANCES:
        if A[acct] == account:
            roles.append(_role(role_arn(account, name), _statement({"Service": service["ec2"]})))
    for acct, name, _ in TASKS:
        if A[acct] == account:
            roles.append(
                _role(role_arn(account, name), _statement({"Service": "ecs-tasks.amazonaws.com"}))
            )
    provider = f"arn:aws:iam::{account}:oidc-provider/{EKS_ISSUER}"
    for ns, sa, acct, _ in PODS:
        if acct == account:
            cond = {"StringEquals": {f"{EKS_ISSUER}:sub": f"system:serviceaccount:{ns}:{sa}"}}
            roles.append(
                _role(
                    irsa_role(account, ns, sa),
                    _statement({"Federated": provider}, "sts:AssumeRoleWithWebIdentity", **cond),
                )
            )
    if account == hub:
        gh = {"Federated": f"arn:aws:iam::{hub}:oidc-provider/{GITHUB}"}
        for name in ("gha-deployer", "gha-ci-readonly"):
            cond = {
                "StringLike": {f"{GITHUB}:sub": "repo:acme/*"},
                "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
            }
            roles.append(
                _role(role_arn(hub, name), _statement(gh, "sts:AssumeRoleWithWebIdentity", **cond))
            )
        roles.append(
            _role(role_arn(hub, "ci-runner-instance"), _statement({"Service": service["ec2"]}))
        )
        roles.append(
            _role(
                role_arn(hub, "terraform-runner"),
                _statement(_aws(role_arn(hub, "ci-runner-instance"))),
            )
        )
    if account == sec:
        roles.append(
            _role(
                role_arn(sec, "security-scanner"),
                _statement({"Service": "ecs-tasks.amazonaws.com"}),
            )
        )
        for job in ("cost-report", "access-review"):
            roles.append(_role(role_arn(sec, job), _statement({"Service": service["lambda"]})))
    if account == mgmt:
        roles.append(
            _role(
                role_arn(mgmt, "AWSCloudFormationStackSetAdministrationRole"),
                _statement({"Service": "cloudformation.amazonaws.com"}),
            )
        )
    if account == data:
        roles.append(
            _role(role_arn(data, "nightly-export"), _statement({"Service": "glue.amazonaws.com"}))
        )
        roles.append(
            _role(
                role_arn(data, "settlement-reader"),
                _statement(_aws(irsa_role(A["prod-a"], "payments", "payments-worker"))),
            )
        )
    if account == A["logs"]:
        roles.append(
            _role(
                role_arn(account, "TerraformStateReader"),
                *[_statement(_aws(role_arn(a, "TerraformApply"))) for a in ACCOUNTS.values()],
            )
        )
    if account in (A["prod-a"], A["prod-b"]):
        roles.append(
            _role(
                role_arn(account, "db-snapshot-reader"),
                _statement(_aws(role_arn(data, "nightly-export"))),
            )
        )
    return roles


def write_config(folder: Path) -> Path:
    """The organisation's config, accounts list and role snapshots; returns the config path."""
    inventory = folder / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    files = []
    for name, account in ACCOUNTS.items():
        path = inventory / f"{name}-authorization-details.json"
        detail = {
            "RoleDetailList": roles_of(account),
            "UserDetailList": [],
            "GroupDetailList": [],
            "Policies": [],
        }
        path.write_bytes(orjson.dumps(detail, option=orjson.OPT_INDENT_2))
        files.append(f"inventory/{path.name}")
    accounts = {
        "Accounts": [
            {
                "Id": account,
                "Arn": f"arn:aws:organizations::{A['management']}:account/o-acme/{account}",
                "Email": f"aws+{name}@acme.example",
                "Name": name,
                "Status": "ACTIVE",
            }
            for name, account in ACCOUNTS.items()
        ]
    }
    (folder / "accounts.json").write_bytes(orjson.dumps(accounts, option=orjson.OPT_INDENT_2))
    config = {
        "organization": {"accounts_file": "accounts.json"},
        "inventory": {"authorization_details": files},
        "trusted_external_accounts": [vendor[0] for vendor in VENDORS.values()],
        "federation": {
            "allowed_providers": ["AWSSSO_*", GITHUB, EKS_ISSUER],
            "allowed_subjects": {GITHUB: ["repo:acme/*"], EKS_ISSUER: ["system:serviceaccount:*"]},
        },
        "metrics": {"port": None},
    }
    path = folder / "config.yaml"
    # JSON is YAML: no extra dependency to write it.
    path.write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))
    return path


def write(folder: Path, days: int = DAYS, seed: int = 20261102) -> tuple[Path, list[Path]]:
    """Config and one JSON-lines file per day into ``folder``; (config, day files)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(folder)
    stream = folder / "stream"
    stream.mkdir(exist_ok=True)
    paths = []
    for day, records in Workload(seed=seed, days_count=days).days():
        path = stream / f"{day:%Y-%m-%d}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        paths.append(path)
    return config, paths


__all__ = ["DAYS", "START", "Session", "Workload", "write", "write_config"]
