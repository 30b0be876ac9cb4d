"""A growing organisation on AWS Control Tower, with no attack in it: ``make noise``'s second
workload (issue 19), where "first seen" is the normal state of things.

Fourteen days on the real calendar from Monday 23 November 2026 (Thanksgiving, Thursday 26, a
public holiday inside the learning week, and a bridge Friday), ~120 member accounts (six core
accounts, then a prod, staging and dev account per team) and ~400 people. Every class of the
issue at the rate a real estate has it:

- **account vending**: Control Tower's ``CreateManagedAccount``, Organizations' ``CreateAccount``
  and ``CreateAccountResult``, ``AWSControlTowerAdmin`` / ``AWSControlTowerStackSetRole`` →
  ``AWSControlTowerExecution`` in the new account, then the Account Factory customisations
  (``CreateRole`` of the account baseline, the GitHub OIDC provider); every third newcomer is
  invited instead (``InviteAccountToOrganization`` → ``AcceptHandshake``). From the next day the
  hub, the scanner, the vendors and the team's people reach it;
- **fleet-wide IaC**: CodeBuild → ``terraform-hub`` → the same-named ``TerraformExecution`` in
  whichever accounts a change touches (a long tail of accounts touched rarely), platform admins
  through Identity Center doing the same by hand, a module bump writing a new thumbprint into
  the GitHub OIDC provider of every deploying account in one night, a client id added, and the
  new vendor's role created in every account;
- **EKS**: four clusters with IRSA and Pod Identity, ~15 preview namespaces a weekday
  (``system:serviceaccount:pr-1234:web``) living a day or two, a DR standby cluster in us-west-2;
- **GitHub Actions** from 160 repositories: pull-request CI in the hub, deploys from main to
  staging, release tags (``ref:refs/tags/v1.2.3``) to prod, hotfix tags daily and the
  fortnightly release train; three repositories' pull-request workflows refused by the deploy
  role, retried by configure-aws-credentials on every push;
- **Identity Center**: ~400 people in working hours, joiners, leavers and a weekly on-call
  rotation signing in at night;
- **vendors** polling with their ExternalId (monitoring, posture, FinOps, backup), and one
  onboarded mid-period: :func:`write` also writes the config from that day
  (``config-after-onboarding.yaml``, the vendor in ``trusted_external_accounts``);
- **services**: Lambda, ECS, EC2 instance profiles, nightly AWS Backup; the security scanner in
  every account hourly; a DR game day in the second region (the orchestrator's fan-out and the
  standby services at many times their rate for an afternoon).

Deterministic from the :class:`~bench.growing_org.Shape` (member accounts, days, growth rate,
seed): the same shape gives the same bytes. ``python -m bench.growing FOLDER`` writes one.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.growing_org import (
    HOLIDAYS,
    NEW_THUMBPRINT,
    NEW_VENDOR,
    OLD_THUMBPRINT,
    TRAIN_EPOCH,
    VENDORS,
    Account,
    Cluster,
    Org,
    Shape,
    build,
    day_of,
    sso_role,
    vendor_role,
    workload_role,
    write_config,
)
from bench.growing_people import people
from bench.growing_records import ChangeRecords
from bench.growing_vending import TERRAFORM, ControlTower
from bench.org_records import GITHUB, Session, role_arn, unique

BOTO = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.4"
GHA = "aws-sdk-nodejs/3.637.0 linux/v20.17.0 configure-aws-credentials-for-github-actions"
#: Day indexes of the period's one-off events (the default 14 days hold them all).
MODULE_BUMP_DAY, ONBOARDING_DAY, GAME_DAY, CLIENT_ID_DAY = 8, 9, 10, 10
Timed = tuple[datetime, dict[str, Any]]


class Workload(ControlTower):
    """``days()`` yields (date, that day's records in event-time order)."""

    def __init__(self, shape: Shape | None = None) -> None:
        self.shape = shape or Shape()
        self.org: Org = build(self.shape)
        self.rng = random.Random(self.shape.seed + 1)
        self.records = ChangeRecords()
        self.people = people(self.org, self.rng)
        self.refused = self.rng.sample([r for r in self.org.repos if self._deploys(r)], 3)
        ranked = [a for a in self.org.initial() if a.env]
        self.rng.shuffle(ranked)
        #: How often a change touches each account's Terraform workspace: a long tail.
        self.tf_weight = {a.id: 1 / (1 + rank) ** 1.1 for rank, a in enumerate(ranked)}
        self.preview_pr = 1200
        #: When the new vendor's role exists in each account: its polls start there only then
        #: (an assumption of a role not yet created would be refused, not granted).
        self.onboarded: dict[str, datetime] = {}

    def days(self) -> Iterator[tuple[datetime, list[dict[str, Any]]]]:
        parts = (
            self.services,
            self.pods,
            self.humans,
            self.github,
            self.terraform,
            self.scanner,
            self.vendors,
            self.control_tower,
            self.game_day,
        )
        for index in range(self.shape.days):
            out: list[Timed] = []
            for part in parts:
                out.extend(part(index, day_of(index)))
            out.sort(key=lambda pair: pair[0])
            yield day_of(index), [record for _, record in out]

    # -- helpers -----------------------------------------------------------------------------

    def _at(self, day: datetime, hour: float, jitter_minutes: float = 60) -> datetime:
        return day + timedelta(seconds=int(hour * 3600 + self.rng.uniform(0, jitter_minutes * 60)))

    def _activity(self, day: datetime, hour: int) -> float:
        """Share of the working-hours peak (people work 08-18 UTC); weekends and holidays dip."""
        quiet = HOLIDAYS.get(day, 0.06 if day.weekday() >= 5 else 1.0)
        base = (1.0 if hour not in (12, 13) else 0.7) if 8 <= hour < 18 else 0.08
        return base * quiet if quiet < 1 else base

    def _poisson(self, mean: float) -> int:
        if mean <= 0:
            return 0
        if mean > 30:
            return max(0, int(self.rng.gauss(mean, mean**0.5)))
        limit, k, product = 2.718281828459045**-mean, 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    def _account(self, team: str, env: str) -> Account | None:
        return next((a for a in self.org.accounts if a.team == team and a.env == env), None)

    def _deploys(self, repo: str) -> bool:
        return self._account(repo.split("/")[1].rsplit("-", 1)[0], "staging") is not None

    def _chain(self, at: datetime, caller: Session, role: str, name: str, **kw: Any) -> list:
        copies, session = self.records.chained(at, caller, role, name, **kw)
        self.last = session
        return [(at, r) for r in copies]

    def _service(self, at: datetime, principal: str, role: str, name: str) -> Session:
        record, session = self.records.service(at, principal, role, name)
        self.out.append((at, record))
        return session

    # -- AWS services ------------------------------------------------------------------------

    def services(self, index: int, day: datetime) -> Iterator[Timed]:
        rate = {"prod": 4.0, "staging": 1.0, "dev": 0.4}
        for account in self.org.members(index):
            if not account.env:
                continue
            for hour in range(24):
                load = 0.3 + 0.7 * self._activity(day, hour)
                fn = role_arn(account.id, f"{account.team}-fn-role")
                for _ in range(self._poisson(rate[account.env] * load)):
                    at = self._at(day, hour)
                    yield at, self.records.service(at, "lambda.amazonaws.com", fn, "fn")[0]
                if account.env == "prod":
                    yield from self._task(account, day, hour)
                if account.env != "dev" and hour % 6 == int(account.id) % 6:
                    yield from self._instances(account, day, hour)
        for account in self.org.members(index + 1):
            at = self._at(day, 1, 40)
            role = role_arn(account.id, "AWSBackupDefaultServiceRole", "/service-role/")
            yield at, self.records.service(at, "backup.amazonaws.com", role, "AWSBackup")[0]

    def _task(self, account: Account, day: datetime, hour: int) -> Iterator[Timed]:
        role = role_arn(account.id, f"{account.team}-task")
        for n in range(2):
            at = self._at(day, hour)
            name = f"{unique('', account.id, str(n), length=32).lower()}"
            yield at, self.records.service(at, "ecs-tasks.amazonaws.com", role, name)[0]

    def _instances(self, account: Account, day: datetime, hour: int) -> Iterator[Timed]:
        role = role_arn(account.id, f"{account.team}-instance")
        for n in range(3):
            at = self._at(day, hour)
            name = "i-0" + unique("", account.id, str(n), length=15).lower()
            yield at, self.records.service(at, "ec2.amazonaws.com", role, name)[0]

    # -- EKS: IRSA, Pod Identity, preview namespaces ---------------------------------------------

    def pods(self, index: int, day: datetime) -> Iterator[Timed]:
        for cluster in self.org.clusters:
            for ns, sa, replicas, pod_identity in cluster.workloads:
                standby = 1 if cluster.region != "us-east-1" else replicas
                for replica in range(standby):
                    for hour in range(24):
                        at = self._at(day, hour)
                        yield self._pod(cluster, ns, sa, pod_identity, at, replica)
        yield from self.previews(index, day)

    def _pod(
        self, cluster: Cluster, ns: str, sa: str, pod_identity: bool, at: datetime, replica: int
    ) -> Timed:
        role = workload_role(cluster, ns, sa)
        if pod_identity:
            name = f"eks-{cluster.name[:10]}-{sa[:20]}-{unique('', sa, str(replica), length=8)}"
            record = self.records.service(at, "pods.eks.amazonaws.com", role, name.lower())[0]
            record["requestParameters"].update(pod_identity_tags(cluster, ns, sa, name))
        else:
            record = self._irsa(cluster, f"system:serviceaccount:{ns}:{sa}", role, at, replica)
        record["awsRegion"] = cluster.region
        return at, record

    def _irsa(self, cluster: Cluster, subject: str, role: str, at: datetime, replica: int) -> dict:
        record, _ = self.records.web_identity(
            at,
            cluster.account,
            cluster.issuer,
            subject,
            role,
            f"botocore-session-{int(at.timestamp())}{replica}",
            agent=BOTO,
            ip=f"10.{40 + replica}.{at.hour}.{17 + replica}",
        )
        return record

    def previews(self, index: int, day: datetime) -> Iterator[Timed]:
        """Pull requests get a namespace (``pr-1234``) with a web and an api service account;
        ~15 a weekday, each living until the merge a day or two later."""
        cluster = next(c for c in self.org.clusters if c.name == "dev-previews")
        scale = self.shape.accounts / 120
        opened = self._poisson(15 * scale * (self._activity(day, 10) if day.weekday() < 5 else 0.1))
        self.live = [(pr, end) for pr, end in getattr(self, "live", []) if end > index]
        for _ in range(opened):
            self.preview_pr += self.rng.randrange(1, 9)
            self.live.append((self.preview_pr, index + self.rng.choice((1, 1, 2, 3))))
        for pr, _ in self.live:
            for app in ("web", "api"):
                subject = f"system:serviceaccount:pr-{pr}:{app}"
                role = role_arn(cluster.account, f"preview-{app}")
                for hour in range(24):
                    at = self._at(day, hour)
                    yield at, self._irsa(cluster, subject, role, at, 0)

    # -- people through IAM Identity Center -------------------------------------------------------

    def humans(self, index: int, day: datetime) -> Iterator[Timed]:
        present = 0.92 * self._activity(day, 10)
        for person in self.people:
            if not person.starts <= index < person.leaves or self.rng.random() >= present:
                continue
            roles, weights = zip(*person.assignments, strict=True)
            for _ in range(max(1, self._poisson(2.2))):
                at = self._at(day, self.rng.choice((8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17)))
                yield at, self.records.saml(at, self.rng.choices(roles, weights)[0], person.name)[0]
        yield from self._on_call(index, day)

    def _on_call(self, index: int, day: datetime) -> Iterator[Timed]:
        """The week's on-call engineer, paged at night into a prod account as administrator."""
        platform = [p for p in self.people if p.name.startswith("platform.")]
        person = platform[(index // 7) % len(platform)]
        prods = [a for a in self.org.members(index) if a.env == "prod"]
        for _ in range(self._poisson(1.2)):
            at = self._at(day, self.rng.choice((0, 2, 3, 5, 21, 22)))
            role = sso_role(self.rng.choice(prods).id, "AdministratorAccess")
            yield at, self.records.saml(at, role, person.name)[0]

    # -- GitHub Actions ---------------------------------------------------------------------------

    def github(self, index: int, day: datetime) -> Iterator[Timed]:
        cicd = self.org.id("cicd")
        for hour in range(24):
            for _ in range(self._poisson(0.7 * len(self.org.repos) * self._activity(day, hour))):
                at, repo = self._at(day, hour), self.rng.choice(self.org.repos)
                kind = self.rng.random()
                if kind < 0.62:
                    yield self._gha(at, repo, "pull_request", role_arn(cicd, "gha-ci-readonly"))
                    if repo in self.refused:
                        yield from self._refused(at, repo)
                elif kind < 0.92 and (staging := self._team_account(repo, "staging")):
                    yield self._gha(at, repo, "ref:refs/heads/main", self._deploy(staging))
                elif kind < 0.935 and (prod := self._team_account(repo, "prod")):
                    yield self._gha(
                        at, repo, self._tag(repo, index, patch=True), self._deploy(prod)
                    )
                else:
                    yield self._gha(
                        at, repo, "ref:refs/heads/main", role_arn(cicd, "gha-ci-readonly")
                    )
        if (day - TRAIN_EPOCH).days % 14 == 0:
            yield from self._release_train(index, day)

    def _team_account(self, repo: str, env: str) -> Account | None:
        account = self._account(repo.split("/")[1].rsplit("-", 1)[0], env)
        return account if account and account.joins is None else None

    def _deploy(self, account: Account) -> str:
        return role_arn(account.id, "gha-deploy")

    def _tag(self, repo: str, index: int, patch: bool) -> str:
        major = 1 + int(unique("", repo, length=2), 16) % 3
        minor = 10 + (day_of(index) - TRAIN_EPOCH).days // 14
        fix = self.rng.randrange(1, 6) if patch else 0
        return f"ref:refs/tags/v{major}.{minor}.{fix}"

    def _gha(self, at: datetime, repo: str, ref: str, role: str, error: bool = False) -> Timed:
        record, _ = self.records.web_identity(
            at,
            role.split(":")[4],
            GITHUB,
            f"repo:{repo}:{ref}",
            role,
            "GitHubActions",
            agent=GHA,
            ip=f"52.154.{self.rng.randrange(256)}.{self.rng.randrange(256)}",
            error=error,
        )
        return at, record

    def _refused(self, at: datetime, repo: str) -> Iterator[Timed]:
        """A preview-deploy job on pull requests that the deploy role does not trust:
        configure-aws-credentials retries with backoff, then the job fails (on every push)."""
        target = self._team_account(repo, "staging")
        assert target is not None
        for delay in (30, 32, 36, 44):
            yield self._gha(
                at + timedelta(seconds=delay), repo, "pull_request", self._deploy(target), True
            )

    def _release_train(self, index: int, day: datetime) -> Iterator[Timed]:
        """The fortnightly release: most deploying repositories tag vX.Y.0 and ship to prod."""
        for repo in self.org.repos:
            prod = self._team_account(repo, "prod")
            if prod is None or self.rng.random() > 0.7:
                continue
            at = self._at(day, 9, 180)
            yield self._gha(at, repo, self._tag(repo, index, patch=False), self._deploy(prod))

    # -- Terraform hub and spoke ------------------------------------------------------------------

    def terraform(self, index: int, day: datetime) -> Iterator[Timed]:
        self.out: list[Timed] = []
        weights = dict(self.tf_weight)
        for account in self.org.members(index):
            if account.joins is not None:  # a new team's first weeks: many small changes
                weights[account.id] = 0.5
        ids, shares = zip(*weights.items(), strict=True)
        for hour in range(24):
            for _ in range(self._poisson(7 * self._activity(day, hour))):
                at = self._at(day, hour)
                hub = self._hub(at)
                targets = set(self.rng.choices(ids, shares, k=self.rng.choice((1, 1, 2, 3))))
                for account in sorted(targets):
                    at += timedelta(seconds=self.rng.randrange(20, 90))
                    self.out += self._chain(
                        at, hub, role_arn(account, "TerraformExecution"), "tf", agent=TERRAFORM
                    )
        if day.weekday() < 5 and index not in HOLIDAY_INDEXES:
            self._by_hand(index, day)
        if index == MODULE_BUMP_DAY:
            self._module_bump(index, day)
        if index == CLIENT_ID_DAY:
            self._client_id(day)
        if index == ONBOARDING_DAY:
            self._onboard_vendor(index, day)
        yield from self.out

    def _hub(self, at: datetime) -> Session:
        cicd = self.org.id("cicd")
        build_id = f"terraform-apply:{unique('', str(at), length=8).lower()}"
        codebuild = self._service(
            at, "codebuild.amazonaws.com", role_arn(cicd, "terraform-hub"), build_id
        )
        return codebuild

    def _by_hand(self, index: int, day: datetime) -> None:
        """A platform admin applying from a laptop through Identity Center."""
        at = self._at(day, 14, 180)
        admin = self.people[0].name
        record, session = self.records.saml(
            at, sso_role(self.org.id("cicd"), "AdministratorAccess"), admin
        )
        self.out.append((at, record))
        assert session is not None
        target = self.rng.choice([a for a in self.org.members(index) if a.env])
        self.out += self._chain(
            at + timedelta(minutes=2),
            session,
            role_arn(target.id, "TerraformExecution"),
            admin,
            agent=TERRAFORM,
            ip="198.51.100.23",
        )

    def _fleet(self, at: datetime, accounts: list[Account]) -> Iterator[tuple[datetime, Session]]:
        """One apply across many workspaces: the hub's session in each account in turn."""
        hub = self._hub(at)
        for account in accounts:
            at += timedelta(seconds=self.rng.randrange(15, 60))
            self.out += self._chain(
                at, hub, role_arn(account.id, "TerraformExecution"), "tf", agent=TERRAFORM
            )
            yield at + timedelta(seconds=8), self.last

    def _module_bump(self, index: int, day: datetime) -> None:
        """The shared github-oidc module's new version rewrites the provider's thumbprints in
        every deploying account, overnight."""
        deploying = [a for a in self.org.members(index) if a.github]
        for at, session in self._fleet(self._at(day, 1, 10), deploying):
            provider = f"arn:aws:iam::{session.account}:oidc-provider/{GITHUB}"
            self.out.append(
                (
                    at,
                    self.records.thumbprint(
                        at, session, provider, [OLD_THUMBPRINT, NEW_THUMBPRINT], TERRAFORM
                    ),
                )
            )

    def _client_id(self, day: datetime) -> None:
        """A team adds a second audience to its account's GitHub provider."""
        account = next(a for a in self.org.initial() if a.github and a.env == "prod")
        for at, session in self._fleet(self._at(day, 11), [account]):
            provider = f"arn:aws:iam::{account.id}:oidc-provider/{GITHUB}"
            self.out.append(
                (
                    at,
                    self.records.add_client_id(
                        at, session, provider, "https://github.com/acme", TERRAFORM
                    ),
                )
            )

    def _onboard_vendor(self, index: int, day: datetime) -> None:
        """The new vendor's role, with its ExternalId, created in every member account."""
        vendor, _, name, external, _ = NEW_VENDOR
        for at, session in self._fleet(self._at(day, 10, 5), self.org.members(index)):
            policy = vendor_role(session.account, vendor, name, external)[
                "AssumeRolePolicyDocument"
            ]
            arn = role_arn(session.account, name)
            self.onboarded[session.account] = at
            self.out.append(
                (at, self.records.create_role(at, session, arn, policy, agent=TERRAFORM))
            )

    # -- the scanner and the vendors --------------------------------------------------------------

    def scanner(self, index: int, day: datetime) -> Iterator[Timed]:
        audit = self.org.id("audit")
        members = self.org.members(index)
        for hour in range(24):
            at = self._at(day, hour, 5)
            self.out = []
            task = self._service(
                at, "ecs-tasks.amazonaws.com", role_arn(audit, "security-scanner"), "scan"
            )
            for account in members:
                at += timedelta(seconds=self.rng.randrange(1, 4))
                self.out += self._chain(
                    at,
                    task,
                    role_arn(account.id, "SecurityAuditReadOnly"),
                    f"scan-{at:%Y%m%d%H}",
                    agent=BOTO,
                    ip="10.30.4.12",
                )
            yield from self.out

    def vendors(self, index: int, day: datetime) -> Iterator[Timed]:
        members = self.org.members(index)
        polling = list(VENDORS.values())
        for vendor, vendor_role_name, name, external, per_day in polling:
            targets = members if per_day else [self.org.named("management")]
            yield from self._polls(
                day, vendor, vendor_role_name, name, external, per_day or 24, targets
            )
        if index >= ONBOARDING_DAY:
            vendor, vendor_role_name, name, external, per_day = NEW_VENDOR
            first_day = index == ONBOARDING_DAY
            start, ready = (11, self.onboarded) if first_day else (0, None)
            yield from self._polls(
                day, vendor, vendor_role_name, name, external, per_day, members, start, ready
            )

    def _polls(
        self, day: datetime, vendor: str, vendor_role_name: str, name: str, external: str,
        per_day: int, targets: list[Account], start_hour: int = 0,
        ready: dict[str, datetime] | None = None,
    ) -> Iterator[Timed]:  # fmt: skip
        """``ready``: when the role exists per account; an account missing or later is skipped."""
        step = 24 / per_day
        for slot in range(per_day):
            if slot * step < start_hour:
                continue
            for account in targets:
                at = self._at(day, slot * step, min(5, step * 60))
                if ready is not None and (account.id not in ready or ready[account.id] > at):
                    continue
                role = role_arn(account.id, name)
                yield at, self.records.vendor(at, vendor, vendor_role_name, role, external, BOTO)

    # -- the DR game day --------------------------------------------------------------------------

    def game_day(self, index: int, day: datetime) -> Iterator[Timed]:
        """The orchestrator fails the prod accounts over to us-west-2; the standby cluster's
        pods scale out for the afternoon: a rate spike on its roles and its provider."""
        if index != GAME_DAY:
            return
        self.out = []
        shared = self.org.id("shared-services")
        at = self._at(day, 14, 5)
        orchestrator = self._service(
            at, "states.amazonaws.com", role_arn(shared, "dr-orchestrator"), "gameday"
        )
        for account in [a for a in self.org.members(index) if a.env == "prod"]:
            at += timedelta(seconds=self.rng.randrange(2, 10))
            self.out += [
                (t, dict(r, awsRegion="us-west-2"))
                for t, r in self._chain(
                    at, orchestrator, role_arn(account.id, "dr-failover"), "gameday", agent=BOTO
                )
            ]
        yield from self.out
        standby = next(c for c in self.org.clusters if c.region != "us-east-1")
        for ns, sa, _, pod_identity in standby.workloads:
            for replica in range(1, 24):
                for hour in range(14, 18):
                    yield self._pod(standby, ns, sa, pod_identity, self._at(day, hour), replica)


def game_day_window() -> dict[str, Any]:
    """The game day as the operator who planned it declares it (``maintenance_windows``): the
    afternoon of the failover, for the rate and fan-out findings a drill is expected to raise."""
    day = day_of(GAME_DAY)
    return {
        "start": f"{day:%Y-%m-%d}T13:00:00Z",
        "end": f"{day:%Y-%m-%d}T19:00:00Z",
        "detectors": ["role_rate_anomaly", "provider_rate_anomaly", "many_roles_assumed"],
        "reason": "DR game day: failover to us-west-2",
    }


HOLIDAY_INDEXES = {(d - day_of(0)).days for d in HOLIDAYS}


def write(folder: Path, shape: Shape | None = None) -> tuple[Path, Path, list[Path]]:
    """Both configs and one JSON-lines file per day into ``folder``:
    (config, config from the onboarding day, day files)."""
    workload = Workload(shape)
    folder.mkdir(parents=True, exist_ok=True)
    planned = [game_day_window()]
    config = write_config(workload.org, folder, planned=planned)
    after = write_config(workload.org, folder, trusted_new_vendor=True, planned=planned)
    stream = folder / "stream"
    stream.mkdir(exist_ok=True)
    paths = []
    for day, records in workload.days():
        path = stream / f"{day:%Y-%m-%d}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        paths.append(path)
    return config, after, paths


def pod_identity_tags(cluster: Cluster, ns: str, sa: str, pod: str) -> dict[str, Any]:
    """The session tags EKS Pod Identity sets (its documented six), which say which pod asked."""
    arn = f"arn:aws:eks:{cluster.region}:{cluster.account}:cluster/{cluster.name}"
    values = {
        "eks-cluster-arn": arn,
        "eks-cluster-name": cluster.name,
        "kubernetes-namespace": ns,
        "kubernetes-service-account": sa,
        "kubernetes-pod-name": pod.lower(),
        "kubernetes-pod-uid": unique("", pod, length=32),
    }
    return {
        "tags": [{"key": key, "value": value} for key, value in values.items()],
        "transitiveTagKeys": list(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growing", description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--accounts", type=int, default=Shape.accounts, help="member accounts")
    parser.add_argument("--days", type=int, default=Shape.days)
    parser.add_argument("--joins-per-week", type=float, default=Shape.joins_per_week)
    parser.add_argument("--seed", type=int, default=Shape.seed)
    args = parser.parse_args(argv)
    shape = Shape(args.accounts, args.days, args.joins_per_week, args.seed)
    config, after, paths = write(args.folder, shape)
    print(f"{config}\n{after}\n" + "\n".join(map(str, paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
