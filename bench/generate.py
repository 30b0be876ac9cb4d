"""A realistic CloudTrail stream from real record shapes, sized for millions of records.

Share of STS role assumptions configurable (default 10 %) among ordinary management events;
identity mix: AWS services, SSO (SAML), GitHub OIDC, cross-account pairs (both copies), role
chains, failures; ``principals`` distinct callers and ``roles`` distinct roles. Deterministic
for a given seed, so two runs measure the same work.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
