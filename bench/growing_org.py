"""Who is in the growing organisation of :mod:`bench.growing`: accounts, people, repositories,
clusters, vendors, and the config and role inventory an operator would give the monitor.

Everything derives from a :class:`Shape` (member accounts, days, growth rate, seed), so a
bigger or faster-growing organisation is one argument away and the same shape gives the same
bytes. Accounts that join during the period are absent from the directory and the inventory:
the monitor learns them, and their roles, from the stream (Organizations and IAM records).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.org import _aws, _role, _statement
from bench.org_records import GITHUB, SSO_PROVIDER, role_arn

#: Monday 23 November 2026: Thanksgiving (Thursday 26) falls inside the learning week.
START = datetime(2026, 11, 23, tzinfo=UTC)
HOLIDAYS = {datetime(2026, 11, 26, tzinfo=UTC): 0.05, datetime(2026, 11, 27, tzinfo=UTC): 0.35}
#: The fortnightly release train leaves on these Wednesdays (18 Nov was the one before).
TRAIN_EPOCH = datetime(2026, 11, 18, tzinfo=UTC)
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
CORE = ("management", "audit", "log-archive", "cicd", "network", "shared-services")
TEAMS = (
    "orders", "payments", "catalog", "search", "checkout", "identity", "ledger", "fraud",
    "media", "pricing", "shipping", "loyalty", "partners", "mobile", "web", "analytics",
    "ml", "messaging", "support", "billing", "inventory", "reviews", "ads", "maps",
    "booking", "risk", "tax", "gifts", "events", "reports", "growth", "studio",
    "vault", "routing", "quotes", "feeds", "notify", "edge", "kyc", "audit-trail",
)  # fmt: skip
ENVS = ("prod", "staging", "dev")
PERMISSION_SETS = {
    "AdministratorAccess": "3c1b9a7e5d2f4680",
    "PowerUserAccess": "8d2e6f1a0b4c7395",
    "ReadOnlyAccess": "a15f3d9c7e2b8046",
    "DataAnalyst": "b7c04e1f9a3d6285",
}
#: (vendor account, its role, our role name, ExternalId, polls a day in every account).
VENDORS = {
    "monitoring": ("999988887777", "DatadogIntegrationRole", "VendorMonitoring", "dd-8c1f2e", 72),
    "cspm": ("777766665555", "WizAccess-Scanner", "VendorPostureScan", "wz-51aa0c", 4),
    "finops": ("888877776666", "CostExplorerSync", "VendorCostReader", "finops-ac7702", 0),
    "backup": ("555544443333", "ClumioIngest", "VendorBackupReader", "clm-93d1b7", 1),
}
#: The vendor onboarded mid-period; the operator trusts it from that day.
NEW_VENDOR = ("444433332222", "OrcaSecurityRole", "VendorLogAnalytics", "orca-2f7e11", 24)
OLD_THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
NEW_THUMBPRINT = "1c58a3a8518e8759bf075b76b750d4f2df264fcd"


def sso_role(account: str, permission_set: str) -> str:
    suffix = PERMISSION_SETS[permission_set]
    return role_arn(account, f"AWSReservedSSO_{permission_set}_{suffix}", SSO_PATH)


def issuer(region: str, cluster: str) -> str:
    return f"oidc.eks.{region}.amazonaws.com/id/{cluster.upper().replace('-', '')[:24]:0<32}"


@dataclass(frozen=True)
class Shape:
    """The knobs: member accounts at the start, days, accounts joining a week, the seed."""

    accounts: int = 120
    days: int = 14
    joins_per_week: float = 1.5
    seed: int = 20261123
    name: str = "default"

    @property
    def joins(self) -> int:
        return max(1, round(self.joins_per_week * self.days / 7))


@dataclass(frozen=True)
class Account:
    name: str
    id: str
    team: str = ""
    env: str = ""
    #: Index of the day it joins (None: a member from the start); vended or invited.
    joins: int | None = None
    invited: bool = False

    @property
    def github(self) -> bool:
        """Workload accounts deploy from GitHub Actions through their own OIDC provider."""
        return self.env in ("prod", "staging")


@dataclass(frozen=True)
class Cluster:
    name: str
    account: str
    region: str
    #: (namespace, service account, replicas, through Pod Identity rather than IRSA)
    workloads: tuple[tuple[str, str, int, bool], ...]

    @property
    def issuer(self) -> str:
        return issuer(self.region, self.name)


@dataclass
class Org:
    shape: Shape
    accounts: list[Account] = field(default_factory=list)
    repos: list[str] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)

    def named(self, name: str) -> Account:
        return next(a for a in self.accounts if a.name == name)

    def id(self, name: str) -> str:
        return self.named(name).id

    def members(self, day: int) -> list[Account]:
        """Members on day ``day`` (joiners from the day after they joined)."""
        return [a for a in self.accounts if a.joins is None or a.joins < day]

    def initial(self) -> list[Account]:
        return [a for a in self.accounts if a.joins is None]

    def joining(self, day: int) -> list[Account]:
        return [a for a in self.accounts if a.joins == day]


def build(shape: Shape) -> Org:
    rng = random.Random(shape.seed)
    org = Org(shape)
    for n, name in enumerate(CORE):
        org.accounts.append(Account(name, f"31{n + 1:010d}"))
    for n in range(shape.accounts - len(CORE)):
        team, env = TEAMS[n // len(ENVS) % len(TEAMS)], ENVS[n % len(ENVS)]
        suffix = "" if n < len(TEAMS) * len(ENVS) else f"-{n // (len(TEAMS) * len(ENVS))}"
        org.accounts.append(Account(f"{team}{suffix}-{env}", f"31{n + 100:010d}", team, env))
    for n in range(shape.joins):
        # Spread over the period from the second day; every third one is invited, not vended.
        day = 1 + (n * (shape.days - 2)) // shape.joins
        while day_of(day).weekday() >= 5:  # nobody vends an account on a weekend
            day += 1
        env = ENVS[n % 2]
        org.accounts.append(
            Account(f"newco{n}-{env}", f"32{n + 1:010d}", f"newco{n}", env, day, invited=n % 3 == 2)
        )
    org.repos = repos(org, rng)
    org.clusters = clusters(org)
    return org


def repos(org: Org, rng: random.Random) -> list[str]:
    """A few repositories per team (~160 at the default size), named the way teams name them."""
    kinds = ("api", "worker", "web", "infra", "jobs", "lib", "events")
    names = [f"acme/{team}-{kind}" for team in teams(org) for kind in kinds]
    return sorted(rng.sample(names, min(len(names), round(160 * org.shape.accounts / 120))))


def teams(org: Org) -> list[str]:
    """The teams with accounts at the start, in the order of :data:`TEAMS`."""
    present = {a.team for a in org.initial() if a.team}
    return [team for team in TEAMS if team in present]


def clusters(org: Org) -> list[Cluster]:
    """Four EKS clusters (IRSA and Pod Identity) and the DR cluster in the second region."""
    owners = teams(org)
    apps = tuple(
        (team, f"{team}-{kind}", 2, n % 3 == 0)
        for n, (team, kind) in enumerate((t, k) for t in owners[:12] for k in ("api", "worker"))
    )
    system = (
        ("kube-system", "aws-load-balancer-controller", 2, False),
        ("kube-system", "external-dns", 1, False),
        ("kube-system", "karpenter", 2, True),
        ("observability", "fluent-bit", 3, False),
    )
    data = "analytics" if "analytics" in owners else owners[-1]
    return [
        Cluster("platform-prod", org.id(f"{owners[0]}-prod"), "us-east-1", system + apps),
        Cluster("platform-staging", org.id(f"{owners[0]}-staging"), "us-east-1", system + apps),
        Cluster("data-prod", org.id(f"{data}-prod"), "us-east-1", system[:2] + apps[:6]),
        Cluster("dev-previews", org.id(f"{owners[0]}-dev"), "us-east-1", system[:2]),
        Cluster("dr-standby", org.id("shared-services"), "us-west-2", system[:1] + apps[:8]),
    ]


# -- the roles every account has (the account baseline) and the roles of each part ----------------


def baseline_roles(org: Org, account: Account, vendors: dict[str, tuple]) -> list[dict]:
    """What Account Factory customisations create in every account: also the CreateRole
    records a vended account's bootstrap writes."""
    mgmt, cicd, audit = org.id("management"), org.id("cicd"), org.id("audit")
    hub = [role_arn(cicd, "terraform-hub"), sso_role(cicd, "AdministratorAccess")]
    roles = [
        _role(
            role_arn(account.id, "AWSControlTowerExecution"),
            _statement(_aws(f"arn:aws:iam::{mgmt}:root")),
        ),
        _role(role_arn(account.id, "TerraformExecution"), _statement({"AWS": hub})),
        _role(
            role_arn(account.id, "SecurityAuditReadOnly"),
            _statement(_aws(role_arn(audit, "security-scanner"))),
        ),
    ]
    for vendor_account, _, name, external, *_ in vendors.values():
        roles.append(vendor_role(account.id, vendor_account, name, external))
    if account.github:
        roles.append(gha_deploy_role(account.id))
    return roles


def vendor_role(account: str, vendor: str, name: str, external: str) -> dict[str, Any]:
    grant = _statement(
        _aws(f"arn:aws:iam::{vendor}:root"), StringEquals={"sts:ExternalId": external}
    )
    return _role(role_arn(account, name), grant)


def gha_deploy_role(account: str) -> dict[str, Any]:
    """Deploys from main and release tags only: pull-request workflows are refused."""
    provider = {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"}
    cond = {
        "StringLike": {
            f"{GITHUB}:sub": ["repo:acme/*:ref:refs/heads/main", "repo:acme/*:ref:refs/tags/v*"]
        },
        "StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
    }
    return _role(
        role_arn(account, "gha-deploy"),
        _statement(provider, "sts:AssumeRoleWithWebIdentity", **cond),
    )


def roles_of(org: Org, account: Account) -> list[dict[str, Any]]:
    """Every role the workload assumes in ``account``, with the trust policy admitting it."""
    saml = {"Federated": f"arn:aws:iam::{account.id}:saml-provider/{SSO_PROVIDER}"}
    sso = {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    roles = [
        _role(sso_role(account.id, ps), _statement(saml, "sts:AssumeRoleWithSAML", **sso))
        for ps in PERMISSION_SETS
    ]
    roles += baseline_roles(org, account, VENDORS)
    roles += service_roles(org, account)
    for cluster in org.clusters:
        if cluster.account == account.id:
            roles += cluster_roles(cluster)
    roles += core_roles(org, account)
    return roles


def service_roles(org: Org, account: Account) -> list[dict[str, Any]]:
    def service(name: str, principal: str) -> dict[str, Any]:
        return _role(role_arn(account.id, name), _statement({"Service": principal}))

    roles = [
        _role(
            role_arn(account.id, "AWSBackupDefaultServiceRole", "/service-role/"),
            _statement({"Service": "backup.amazonaws.com"}),
        )
    ]
    if account.env:
        roles += [
            service(f"{account.team}-fn-role", "lambda.amazonaws.com"),
            service(f"{account.team}-instance", "ec2.amazonaws.com"),
            service(f"{account.team}-task", "ecs-tasks.amazonaws.com"),
        ]
    if account.env == "prod":
        shared = org.id("shared-services")
        roles.append(
            _role(
                role_arn(account.id, "dr-failover"),
                _statement(_aws(role_arn(shared, "dr-orchestrator"))),
            )
        )
    return roles


def cluster_roles(cluster: Cluster) -> list[dict[str, Any]]:
    provider = {"Federated": f"arn:aws:iam::{cluster.account}:oidc-provider/{cluster.issuer}"}
    roles = []
    for ns, sa, _, pod_identity in cluster.workloads:
        arn = workload_role(cluster, ns, sa)
        if pod_identity:
            grant = _statement(
                {"Service": "pods.eks.amazonaws.com"}, ["sts:AssumeRole", "sts:TagSession"]
            )
        else:
            sub = {"StringEquals": {f"{cluster.issuer}:sub": f"system:serviceaccount:{ns}:{sa}"}}
            grant = _statement(provider, "sts:AssumeRoleWithWebIdentity", **sub)
        roles.append(_role(arn, grant))
    if cluster.name == "dev-previews":
        for app in ("web", "api"):
            sub = {"StringLike": {f"{cluster.issuer}:sub": f"system:serviceaccount:pr-*:{app}"}}
            roles.append(
                _role(
                    role_arn(cluster.account, f"preview-{app}"),
                    _statement(provider, "sts:AssumeRoleWithWebIdentity", **sub),
                )
            )
    return roles


def workload_role(cluster: Cluster, namespace: str, service_account: str) -> str:
    return role_arn(cluster.account, f"{cluster.name}-{namespace}-{service_account}")


def core_roles(org: Org, account: Account) -> list[dict[str, Any]]:
    def made(name: str, principal: dict[str, Any], path: str = "/") -> dict[str, Any]:
        return _role(role_arn(account.id, name, path), _statement(principal))

    if account.name == "management":
        return [
            made(
                "AWSControlTowerAdmin", {"Service": "controltower.amazonaws.com"}, "/service-role/"
            ),
            made(
                "AWSControlTowerStackSetRole",
                {"Service": "cloudformation.amazonaws.com"},
                "/service-role/",
            ),
        ]
    if account.name == "cicd":
        gh = {"Federated": f"arn:aws:iam::{account.id}:oidc-provider/{GITHUB}"}
        cond = {"StringLike": {f"{GITHUB}:sub": "repo:acme/*"}}
        return [
            made("terraform-hub", {"Service": "codebuild.amazonaws.com"}),
            _role(
                role_arn(account.id, "gha-ci-readonly"),
                _statement(gh, "sts:AssumeRoleWithWebIdentity", **cond),
            ),
        ]
    if account.name == "audit":
        return [made("security-scanner", {"Service": "ecs-tasks.amazonaws.com"})]
    if account.name == "shared-services":
        return [made("dr-orchestrator", {"Service": "states.amazonaws.com"})]
    return []


# -- what the operator writes ---------------------------------------------------------------------


def write_config(
    org: Org,
    folder: Path,
    trusted_new_vendor: bool = False,
    planned: list[dict[str, Any]] | None = None,
) -> Path:
    """Config, accounts list and one authorization-details file per member account at the
    start; ``trusted_new_vendor`` is the config from the day the operator trusts the new one,
    ``planned`` the drills the operator declared (``maintenance_windows``)."""
    inventory = folder / "inventory"
    inventory.mkdir(parents=True, exist_ok=True)
    files = []
    for account in org.initial():
        path = inventory / f"{account.name}-authorization-details.json"
        if not path.exists():
            detail = {"RoleDetailList": roles_of(org, account), "UserDetailList": []}
            path.write_bytes(orjson.dumps({**detail, "GroupDetailList": [], "Policies": []}))
        files.append(f"inventory/{path.name}")
    (folder / "accounts.json").write_bytes(orjson.dumps({"Accounts": _directory(org)}))
    vendors = [v[0] for v in VENDORS.values()] + ([NEW_VENDOR[0]] if trusted_new_vendor else [])
    providers = [GITHUB, *sorted({c.issuer for c in org.clusters})]
    config = {
        "organization": {"accounts_file": "accounts.json"},
        "inventory": {"authorization_details": files},
        "trusted_external_accounts": vendors,
        "federation": {
            "allowed_providers": ["AWSSSO_*", *providers],
            "allowed_subjects": {
                GITHUB: ["repo:acme/*"],
                **{c.issuer: ["system:serviceaccount:*"] for c in org.clusters},
            },
        },
        "metrics": {"port": None},
        "maintenance_windows": planned or [],
    }
    path = folder / ("config-after-onboarding.yaml" if trusted_new_vendor else "config.yaml")
    path.write_bytes(orjson.dumps(config, option=orjson.OPT_INDENT_2))  # JSON is YAML
    return path


def _directory(org: Org) -> list[dict[str, str]]:
    mgmt = org.id("management")
    return [
        {
            "Id": a.id,
            "Arn": f"arn:aws:organizations::{mgmt}:account/o-g7rw4k2m9x/{a.id}",
            "Email": f"aws+{a.name}@acme.example",
            "Name": a.name,
            "Status": "ACTIVE",
        }
        for a in org.initial()
    ]


def day_of(index: int) -> datetime:
    return START + timedelta(days=index)
