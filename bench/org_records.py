"""CloudTrail STS record builders for the ordinary-organisation workload (``bench.org``).

Shapes follow the public records of the project's corpus: service AssumeRole from a real
org-trail log file, the cross-account pair from the IAM user guide (caller copy with the full
ARN, owner copy as ``AWSAccount`` with one ``sharedEventID``), GitHub Actions and EKS IRSA
``AssumeRoleWithWebIdentity`` from real 2025/2023 records, a vendor's owner copy with its
``externalId`` (cloud-snitch), Identity Center ``AssumeRoleWithSAML`` from the documented shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

REGION = "us-east-1"
SSO_PROVIDER = "AWSSSO_7f3a21c9d04e5b68_DO_NOT_DELETE"
GITHUB = "token.actions.githubusercontent.com"
EKS_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5C2A8F0B9D3E4A61B7C8D9E0F1A2B3C4"


def unique(kind: str, *parts: str, length: int = 17) -> str:
    """A stable IAM-style unique id (``AROA…``, ``ASIA…``) for the same inputs."""
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest().upper()
    return kind + digest[:length]


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def role_id(arn: str) -> str:
    return unique("AROA", arn)


@dataclass(frozen=True)
class Session:
    """Credentials a successful assumption issued: what the next call's userIdentity shows."""

    role: str
    name: str
    key: str
    created: datetime

    @property
    def account(self) -> str:
        return account_of(self.role)

    @property
    def principal_id(self) -> str:
        return f"{role_id(self.role)}:{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{role_name(self.role)}/{self.name}"

    def identity(self) -> dict[str, Any]:
        return {
            "type": "AssumedRole",
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id(self.role),
                    "arn": self.role,
                    "accountId": self.account,
                    "userName": role_name(self.role),
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": stamp(self.created),
                    "mfaAuthenticated": "false",
                },
            },
        }


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def expiration_text(at: datetime) -> str:
    """``Nov 2, 2026, 1:00:00 AM``: how CloudTrail writes credential expirations."""
    hour = at.hour % 12 or 12
    return f"{at:%b} {at.day}, {at.year}, {hour}:{at:%M:%S} {'AM' if at.hour < 12 else 'PM'}"


class Records:
    """Builds records with ids that are unique and deterministic in the order of the calls."""

    def __init__(self) -> None:
        self.serial = 0

    def _id(self) -> str:
        self.serial += 1
        return f"5e1f0000-0000-4000-8000-{self.serial:012x}"

    def assume(
        self,
        name: str,
        at: datetime,
        identity: dict[str, Any],
        role: str,
        session_name: str,
        *,
        ip: str,
        agent: str,
        recipient: str | None = None,
        error: str | None = None,
        extra_params: dict[str, Any] | None = None,
        duration: int = 3600,
    ) -> tuple[dict[str, Any], Session | None]:
        """One STS call by ``identity`` for ``role``; the session it issued when it succeeded."""
        account = account_of(role)
        params: dict[str, Any] = {"roleArn": role, "roleSessionName": session_name}
        params.update(extra_params or {})
        record: dict[str, Any] = {
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": stamp(at),
            "eventSource": "sts.amazonaws.com",
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": ip,
            "userAgent": agent,
            "requestParameters": params,
            "responseElements": None,
            "requestID": self._id(),
            "eventID": self._id(),
            "readOnly": True,
            "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role}],
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": recipient or account,
            "eventCategory": "Management",
        }
        if error is not None:
            record.update(errorCode="AccessDenied", errorMessage=error)
            if name == "AssumeRole":  # a failed AssumeRole keeps neither (see the corpus)
                record["requestParameters"] = None
                del record["resources"]
            return record, None
        session = Session(
            role,
            session_name,
            unique("ASIA", role, session_name, stamp(at), str(self.serial), length=16),
            at,
        )
        record["responseElements"] = {
            "credentials": {
                "accessKeyId": session.key,
                "sessionToken": "",
                "expiration": expiration_text(at + timedelta(seconds=duration)),
            },
            "assumedRoleUser": {"assumedRoleId": session.principal_id, "arn": session.arn},
        }
        return record, session

    def service(
        self, at: datetime, service: str, role: str, session_name: str
    ) -> tuple[dict[str, Any], Session]:
        """An AWS service (Lambda, EC2 instance profile, ECS task, Backup) assuming its role."""
        identity = {"type": "AWSService", "invokedBy": service}
        record, session = self.assume(
            "AssumeRole", at, identity, role, session_name, ip=service, agent=service
        )
        assert session is not None
        return record, session

    def chained(
        self,
        at: datetime,
        caller: Session,
        role: str,
        session_name: str,
        *,
        agent: str,
        ip: str = "10.20.0.15",
        external_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], Session]:
        """A role session assuming ``role``: one record, or both copies when cross-account."""
        params = {"externalId": external_id} if external_id else None
        record, session = self.assume(
            "AssumeRole",
            at,
            caller.identity(),
            role,
            session_name,
            ip=ip,
            agent=agent,
            recipient=caller.account,
            extra_params=params,
        )
        assert session is not None
        if caller.account == account_of(role):
            return [record], session
        record["sharedEventID"] = self._id()
        return [record, self.owner_copy(record, caller.principal_id, caller.account)], session

    def owner_copy(self, record: dict[str, Any], principal_id: str, account: str) -> dict:
        """The role account's copy of a cross-account call: the caller only as AWSAccount."""
        copy = dict(record)
        copy["userIdentity"] = {
            "type": "AWSAccount",
            "principalId": principal_id,
            "accountId": account,
        }
        copy["eventID"] = self._id()
        copy["recipientAccountId"] = account_of(record["requestParameters"]["roleArn"])
        return copy

    def vendor(
        self, at: datetime, vendor: str, vendor_role: str, role: str, external_id: str, agent: str
    ) -> dict[str, Any]:
        """A vendor's poll as the role owner sees it (its own copy is in the vendor's trail)."""
        vendor_role_arn = role_arn(vendor, vendor_role)
        principal_id = f"{role_id(vendor_role_arn)}:{vendor_role.lower()}-{at:%H%M}"
        record, _ = self.assume(
            "AssumeRole",
            at,
            {"type": "AWSAccount", "principalId": principal_id, "accountId": vendor},
            role,
            principal_id.split(":", 1)[1],
            ip="3.233.147.10",
            agent=agent,
            extra_params={"externalId": external_id},
        )
        record["sharedEventID"] = self._id()
        return record

    def web_identity(
        self,
        at: datetime,
        provider_account: str,
        issuer: str,
        subject: str,
        role: str,
        session_name: str,
        *,
        agent: str,
        ip: str,
        error: bool = False,
    ) -> tuple[dict[str, Any], Session | None]:
        provider = f"arn:aws:iam::{provider_account}:oidc-provider/{issuer}"
        identity = {
            "type": "WebIdentityUser",
            "principalId": f"{provider}:sts.amazonaws.com:{subject}",
            "userName": subject,
            "identityProvider": provider,
        }
        record, session = self.assume(
            "AssumeRoleWithWebIdentity",
            at,
            identity,
            role,
            session_name,
            ip=ip,
            agent=agent,
            error="An unknown error occurred" if error else None,
        )
        if session is not None:
            record["responseElements"].update(
                subjectFromWebIdentityToken=subject, provider=provider, audience="sts.amazonaws.com"
            )
        return record, session

    def saml(self, at: datetime, role: str, user: str) -> tuple[dict[str, Any], Session | None]:
        """A person signing in through IAM Identity Center (an ``AWSReservedSSO_*`` role)."""
        account = account_of(role)
        identity = {
            "type": "SAMLUser",
            "principalId": f"kN2vQ8s0Zr1pX4mY7tW3a9bC6dE=:{user}",
            "userName": user,
            "identityProvider": "kN2vQ8s0Zr1pX4mY7tW3a9bC6dE=",
        }
        record, session = self.assume(
            "AssumeRoleWithSAML",
            at,
            identity,
            role,
            user,
            ip="AWS Internal",
            agent="aws-internal/3 aws-sdk-java/1.12.720",
            extra_params={
                "principalArn": f"arn:aws:iam::{account}:saml-provider/{SSO_PROVIDER}",
                "durationSeconds": 28800,
            },
            duration=28800,
        )
        assert record["responseElements"] is not None
        record["responseElements"].update(
            subjectType="persistent",
            issuer="https://portal.sso.us-east-1.amazonaws.com/saml/assertion/ODk2MjA0NjE",
            subject=user,
            audience="https://signin.aws.amazon.com/saml",
            nameQualifier="Xq3FZ1pQ0eB3yS5uVw7aT2nLmKo=",
        )
        return record, session
