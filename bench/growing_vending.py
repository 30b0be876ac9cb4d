"""Control Tower in the growing organisation (:mod:`bench.growing`): accounts vended through
Account Factory and invited, their bootstrap, and the weekly guardrail run.

A vended account: ``CreateAccount`` by ``AWSControlTowerAdmin``, Organizations'
``CreateAccountResult``, Control Tower's ``CreateManagedAccount``, then
``AWSControlTowerStackSetRole`` → ``AWSControlTowerExecution`` in the new account and, through
that session, the Account Factory customisations (``CreateRole`` of the account baseline, the
GitHub OIDC provider). An invited one: ``InviteAccountToOrganization``, ``AcceptHandshake`` in
the invited account, whose administrator creates ``AWSControlTowerExecution`` so that Control
Tower can enrol it; then the same bootstrap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.growing_org import OLD_THUMBPRINT, VENDORS, Account, baseline_roles, sso_role
from bench.org_records import GITHUB, Session, role_arn, unique

if TYPE_CHECKING:
    from bench.growing import Timed

TERRAFORM = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 aws-sdk-go-v2/1.30.4 os/linux"
CONSOLE = "AWS Internal"


class ControlTower:
    """The Control Tower part of :class:`bench.growing.Workload`, which gives it its helpers
    (``_at``, ``_chain``, ``_service``) and the ``out`` list they fill."""

    org: Any
    records: Any
    rng: Any
    people: Any
    out: list[Timed]
    last: Session

    def control_tower(self, index: int, day: datetime) -> Iterator[Timed]:
        self.out = []
        for account in self.org.joining(index):
            if account.invited:
                self._invite(account, day)
            else:
                self._vend(account, day)
        if day.weekday() == 6:  # the weekly guardrail drift run
            at = self._at(day, 3, 10)
            self._execution(at, self.org.members(index), 1)
        yield from self.out

    def _vend(self, account: Account, day: datetime) -> None:
        mgmt = self.org.named("management")
        at = self._at(day, 13, 60)
        admin = self._service(
            at,
            "controltower.amazonaws.com",
            role_arn(mgmt.id, "AWSControlTowerAdmin", "/service-role/"),
            "AWSControlTowerAdmin",
        )
        record, request = self.records.create_account(
            at + timedelta(seconds=20),
            admin,
            account.name,
            f"aws+{account.name}@acme.example",
            "controltower.amazonaws.com",
        )
        self.out.append((at, record))
        done = at + timedelta(minutes=3)
        self.out.append(
            (
                done,
                self.records.create_account_result(
                    done, mgmt.id, request, account.name, account.id
                ),
            )
        )
        enrolled = done + timedelta(minutes=25)
        self.out.append(
            (
                enrolled,
                self.records.managed_account(
                    enrolled, mgmt.id, account.name, account.id, f"ou-w0rk-{account.env}"
                ),
            )
        )
        self._bootstrap(account, done + timedelta(minutes=2))

    def _invite(self, account: Account, day: datetime) -> None:
        """An acquired company's account: invited, accepted by its administrator, who creates
        ``AWSControlTowerExecution`` so that Control Tower can enrol it."""
        mgmt = self.org.id("management")
        at = self._at(day, 10, 30)
        record, session = self.records.saml(
            at, sso_role(mgmt, "AdministratorAccess"), self.people[0].name
        )
        self.out.append((at, record))
        assert session is not None
        invite, handshake = self.records.invite(
            at + timedelta(minutes=1), session, account.id, CONSOLE
        )
        self.out.append((at + timedelta(minutes=1), invite))
        accepted = at + timedelta(hours=2)
        owner = {
            "type": "IAMUser",
            "principalId": unique("AIDA", account.id),
            "arn": f"arn:aws:iam::{account.id}:user/admin",
            "accountId": account.id,
            "accessKeyId": unique("AKIA", account.id, length=16),
            "userName": "admin",
        }
        self.out.append(
            (accepted, self.records.accept(accepted, owner, account.id, handshake, CONSOLE))
        )
        execution = next(
            r
            for r in baseline_roles(self.org, account, {})
            if r["RoleName"] == "AWSControlTowerExecution"
        )
        created = accepted + timedelta(minutes=5)
        founder = Session(
            f"arn:aws:iam::{account.id}:user/admin", "admin", owner["accessKeyId"], created
        )
        record = self.records.create_role(
            created, founder, execution["Arn"], execution["AssumeRolePolicyDocument"], agent=CONSOLE
        )
        record["userIdentity"] = owner
        self.out.append((created, record))
        self._bootstrap(account, created + timedelta(minutes=10), skip_execution=True)

    def _bootstrap(self, account: Account, at: datetime, skip_execution: bool = False) -> None:
        """Control Tower's enrolment then Account Factory customisations, through
        ``AWSControlTowerExecution`` in the new account: the baseline's roles and providers."""
        sessions = self._execution(at, [account], 6)
        session = sessions[-1]
        for role in baseline_roles(self.org, account, VENDORS):
            if skip_execution and role["RoleName"] == "AWSControlTowerExecution":
                continue
            at += timedelta(seconds=self.rng.randrange(3, 20))
            self.out.append(
                (
                    at,
                    self.records.create_role(
                        at, session, role["Arn"], role["AssumeRolePolicyDocument"], agent=TERRAFORM
                    ),
                )
            )
        if account.github:
            at += timedelta(seconds=30)
            self.out.append(
                (
                    at,
                    self.records.create_oidc_provider(
                        at,
                        session,
                        f"https://{GITHUB}",
                        ["sts.amazonaws.com"],
                        OLD_THUMBPRINT,
                        TERRAFORM,
                    ),
                )
            )

    def _execution(self, at: datetime, accounts: list[Account], times: int) -> list[Session]:
        """``AWSControlTowerStackSetRole`` (CloudFormation) into each account's execution role."""
        mgmt = self.org.id("management")
        stacksets = role_arn(mgmt, "AWSControlTowerStackSetRole", "/service-role/")
        sessions = []
        for _ in range(times):
            at += timedelta(seconds=self.rng.randrange(20, 120))
            caller = self._service(at, "cloudformation.amazonaws.com", stacksets, "stacksets")
            for account in accounts:
                at += timedelta(seconds=self.rng.randrange(1, 5))
                self.out += self._chain(
                    at,
                    caller,
                    role_arn(account.id, "AWSControlTowerExecution"),
                    "AWSControlTowerExecution",
                    agent="cloudformation.amazonaws.com",
                    ip="cloudformation.amazonaws.com",
                )
                sessions.append(self.last)
        return sessions
