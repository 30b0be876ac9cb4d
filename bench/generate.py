"""A realistic CloudTrail stream from real record shapes, sized for millions of records.

Share of STS role assumptions configurable (default 10 %) among ordinary management events;
identity mix: AWS services, SSO (SAML), GitHub OIDC, cross-account pairs (both copies), role
chains, failures; ``principals`` distinct callers and ``roles`` distinct roles. Deterministic
for a given seed, so two runs measure the same work.
"""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ORG = [f"{100000000000 + i:012d}" for i in range(40)]
VENDOR, STRANGER = "999988887777", "666666666666"
NOISE = [
    ("s3.amazonaws.com", "GetBucketAcl"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("kms.amazonaws.com", "Decrypt"),
    ("ssm.amazonaws.com", "UpdateInstanceInformation"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("logs.amazonaws.com", "CreateLogStream"),
]


@dataclass(frozen=True)
class StreamSpec:
    records: int = 1_000_000
    sts_share: float = 0.10
    principals: int = 100_000
    roles: int = 5_000
    break_glass_every: int = 0  # inject a break-glass use every N STS records (0: never)
    seed: int = 7


class Generator:
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.start = datetime(2026, 11, 1, tzinfo=UTC)
        self.serial = 0
        self.sts_count = 0

    def records(self) -> Iterator[dict[str, Any]]:
        for index in range(self.spec.records):
            if self.rng.random() < self.spec.sts_share:
                yield from self._sts(index)
            else:
                yield self._noise(index)

    def encoded(self) -> Iterator[bytes]:
        for record in self.records():
            yield orjson.dumps(record)

    # -- record builders ------------------------------------------------------------------

    def _next_id(self) -> str:
        self.serial += 1
        return f"{self.spec.seed:08x}-0000-4000-8000-{self.serial:012x}"

    def _time(self, index: int) -> str:
        moment = self.start + timedelta(milliseconds=index * 7)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _base(self, index: int, source: str, name: str, identity: dict) -> dict[str, Any]:
        return {
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": self._time(index),
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": f"198.51.{self.rng.randrange(256)}.{self.rng.randrange(256)}",
            "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 botocore/2.4.5",
            "requestParameters": None,
            "responseElements": None,
            "requestID": self._next_id(),
            "eventID": self._next_id(),
            "readOnly": True,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": identity.get("accountId", ORG[0]),
            "eventCategory": "Management",
        }

    def _principal(self) -> dict[str, Any]:
        n = self.rng.randrange(self.spec.principals)
        account = ORG[n % len(ORG)]
        role = f"app-{n % 997}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{n:016d}:session-{n}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/session-{n}",
            "accountId": account,
            "accessKeyId": f"ASIA{n:016d}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "attributes": {"creationDate": "2026-11-01T00:00:00Z", "mfaAuthenticated": "false"},
            },
        }

    def _noise(self, index: int) -> dict[str, Any]:
        source, name = self.rng.choice(NOISE)
        return self._base(index, source, name, self._principal())

    def _role_arn(self) -> str:
        n = self.rng.randrange(self.spec.roles)
        return f"arn:aws:iam::{ORG[n % len(ORG)]}:role/workload-{n}"

    def _assume(self, index: int, identity: dict, role_arn: str, name: str = "AssumeRole") -> dict:
        record = self._base(index, "sts.amazonaws.com", name, identity)
        account = role_arn.split(":")[4]
        session = f"s{self.serial}"
        role_name = role_arn.rsplit("/", 1)[-1]
        record["requestParameters"] = {"roleArn": role_arn, "roleSessionName": session}
        record["responseElements"] = {
            "credentials": {
                "accessKeyId": f"ASIA{self.serial:016d}",
                "expiration": "Nov 2, 2026, 1:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{self.serial:016d}:{session}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
            },
        }
        record["resources"] = [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}]
        record["recipientAccountId"] = account
        return record

    def _sts(self, index: int) -> Iterator[dict[str, Any]]:
        self.sts_count += 1
        every = self.spec.break_glass_every
        if every and self.sts_count % every == 0:
            yield self._assume(
                index, self._principal(), f"arn:aws:iam::{ORG[1]}:role/BreakGlassAdmin"
            )
            return
        kind = self.rng.random()
        if kind < 0.35:
            service = self.rng.choice(
                ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "logs.amazonaws.com"]
            )
            record = self._assume(
                index, {"type": "AWSService", "invokedBy": service}, self._role_arn()
            )
            record["sourceIPAddress"] = record["userAgent"] = service
            yield record
        elif kind < 0.55:
            yield self._saml(index)
        elif kind < 0.65:
            yield self._github(index)
        elif kind < 0.85:
            yield from self._cross_account(index)
        elif kind < 0.95:
            yield self._assume(index, self._principal(), self._role_arn())  # role chain
        else:
            yield self._denied(index)

    def _saml(self, index: int) -> dict[str, Any]:
        n = self.rng.randrange(self.spec.principals)
        account = ORG[n % len(ORG)]
        identity = {
            "type": "SAMLUser",
            "principalId": f"hash:user{n}",
            "userName": f"user{n}@acme.example",
            "identityProvider": "hash",
        }
        record = self._assume(
            index,
            identity,
            f"arn:aws:iam::{account}:role/AWSReservedSSO_Dev_{n % 20}",
            "AssumeRoleWithSAML",
        )
        record["requestParameters"]["principalArn"] = (
            f"arn:aws:iam::{account}:saml-provider/AWSSSO_abc_DO_NOT_DELETE"
        )
        record["responseElements"].update(
            subject=f"user{n}@acme.example", audience="https://signin.aws.amazon.com/saml"
        )
        return record

    def _github(self, index: int) -> dict[str, Any]:
        n = self.rng.randrange(500)
        account = ORG[n % len(ORG)]
        provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
        subject = f"repo:acme/service-{n}:ref:refs/heads/main"
        identity = {
            "type": "WebIdentityUser",
            "principalId": f"{provider}:sts.amazonaws.com:{subject}",
            "userName": subject,
            "identityProvider": provider,
        }
        record = self._assume(
            index,
            identity,
            f"arn:aws:iam::{account}:role/github-deploy",
            "AssumeRoleWithWebIdentity",
        )
        record["responseElements"].update(
            subjectFromWebIdentityToken=subject, provider=provider, audience="sts.amazonaws.com"
        )
        return record

    def _cross_account(self, index: int) -> Iterator[dict[str, Any]]:
        caller = self._principal()
        if self.rng.random() < 0.05:
            caller = {**caller, "accountId": VENDOR}
        record = self._assume(index, caller, self._role_arn())
        record["sharedEventID"] = self._next_id()
        yield record
        owner = orjson.loads(orjson.dumps(record))
        owner["userIdentity"] = {
            "type": "AWSAccount",
            "principalId": caller["principalId"],
            "accountId": caller["accountId"],
        }
        owner["eventID"] = self._next_id()
        yield owner

    def _denied(self, index: int) -> dict[str, Any]:
        identity = self._principal()
        role_arn = self._role_arn()
        record = self._base(index, "sts.amazonaws.com", "AssumeRole", identity)
        record["errorCode"] = "AccessDenied"
        record["errorMessage"] = (
            f"User: {identity['arn']} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role_arn}"
        )
        return record


# -- role catalog and files ---------------------------------------------------------------------


def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role_detail(account: str, name: str, trust: dict[str, Any], tags: dict[str, str]) -> dict:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROA{zlib.crc32(f'{account}/{name}'.encode()):016d}",
        "Arn": f"arn:aws:iam::{account}:role/{name}",
        "CreateDate": "2024-01-15T09:00:00Z",
        "AssumeRolePolicyDocument": trust,
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "RoleLastUsed": {},
        "InstanceProfileList": [],
        "RolePolicyList": [],
        "AttachedManagedPolicies": [],
    }


def inventory(spec: StreamSpec) -> dict[str, dict[str, Any]]:
    """``get-account-authorization-details`` output per organization account for the stream's
    roles, with the trust policies real organizations write: workloads trusting the org (by
    ``aws:PrincipalOrgID``), services and the vendor (with an external id); SSO roles trusting
    the IAM Identity Center SAML provider; GitHub deploy roles trusting the OIDC provider per
    repository; a tagged break-glass role.
    """
    services = ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "logs.amazonaws.com"]
    details: dict[str, list[dict[str, Any]]] = {account: [] for account in ORG}
    for n in range(spec.roles):
        account = ORG[n % len(ORG)]
        trust = _trust(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-acme12345"}},
            },
            {"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "vendor-7f3a"}},
            },
        )
        details[account].append(
            _role_detail(account, f"workload-{n}", trust, {"team": f"team-{n % 50}"})
        )
    for account in ORG:
        saml = f"arn:aws:iam::{account}:saml-provider/AWSSSO_abc_DO_NOT_DELETE"
        for k in range(20):
            trust = _trust(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": saml},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                    "Condition": {
                        "StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}
                    },
                }
            )
            details[account].append(_role_detail(account, f"AWSReservedSSO_Dev_{k}", trust, {}))
        oidc = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
        trust = _trust(
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
                    },
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*"},
                },
            }
        )
        details[account].append(_role_detail(account, "github-deploy", trust, {}))
    account = ORG[1]
    trust = _trust(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ORG[0]}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    )
    details[account].append(
        _role_detail(account, "BreakGlassAdmin", trust, {"break-glass": "true"})
    )
    return {account: {"RoleDetailList": roles} for account, roles in details.items()}


def write_inventory(spec: StreamSpec, folder: Path) -> list[Path]:
    """One authorization-details file per account, plus ``accounts.json``; returns the former."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for account, document in inventory(spec).items():
        path = folder / f"{account}-authorization-details.json"
        path.write_bytes(orjson.dumps(document))
        paths.append(path)
    accounts = {"Accounts": [{"Id": a, "Name": f"acct-{a[-3:]}", "Status": "ACTIVE"} for a in ORG]}
    (folder / "accounts.json").write_bytes(orjson.dumps(accounts))
    return paths


class LogFileWriter:
    """Records into gzip'd CloudTrail log files (``{"Records": [...]}``), ``per_file`` each,
    named and foldered the way CloudTrail delivers them to S3 (so replay sorts them in order).
    """

    def __init__(self, folder: Path, per_file: int = 1000, level: int = 6) -> None:
        self.folder = folder
        self.per_file = per_file
        self.level = level
        self.files = 0
        self._pending: list[bytes] = []
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, encoded: bytes) -> None:
        self._pending.append(encoded)
        if len(self._pending) >= self.per_file:
            self._write()

    def close(self) -> None:
        if self._pending:
            self._write()

    def _write(self) -> None:
        body = b'{"Records":[' + b",".join(self._pending) + b"]}"
        name = f"{ORG[0]}_CloudTrail_us-east-1_20261101T0000Z_{self.files:08d}.json.gz"
        (self.folder / name).write_bytes(gzip.compress(body, compresslevel=self.level, mtime=0))
        self.files += 1
        self._pending = []
