"""Builds the bundled sample stream in examples/stream/ from real CloudTrail record shapes.

The shapes follow the public records in the project's corpus (service AssumeRole from a real
org-trail log file, the cross-account pair from the IAM user guide, GitHub Actions OIDC from a
real 2025 record, failed AssumeRole with the role only in errorMessage from Stratus Red Team).
Values are those of the fictional Acme organisation in examples/org/. Run it again after
editing; the output is deterministic.
"""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "stream"
MGMT, PROD, DEV, SECURITY = "111111111111", "222222222222", "333333333333", "444444444444"
VENDOR, STRANGER = "999988887777", "666666666666"
_ids = iter(uuid.UUID(int=n) for n in range(1, 10_000))


def _id() -> str:
    return str(next(_ids))


def base(name: str, time: str, identity: dict[str, Any], role: str | None, **extra: Any) -> dict:
    account = role.split(":")[4] if role else identity.get("accountId")
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": "sts.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": extra.pop("ip", "198.51.100.20"),
        "userAgent": extra.pop("agent", "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 botocore/2.4.5"),
        "requestParameters": {"roleArn": role, "roleSessionName": extra.pop("session", "s")}
        if role
        else None,
        "responseElements": None,
        "requestID": _id(),
        "eventID": _id(),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if role:
        record["resources"] = [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role}]
    error = extra.pop("error", None)
    if error:
        record.update(errorCode="AccessDenied", errorMessage=error)
        record["requestParameters"] = None
        record.pop("resources", None)
    elif role:
        session = record["requestParameters"]["roleSessionName"]
        record["responseElements"] = {
            "credentials": {
                "accessKeyId": "ASIA" + _id().replace("-", "")[-16:].upper(),
                "sessionToken": "",
                "expiration": "Nov 2, 2026, 1:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": "AROAEXAMPLE" + session[:8].upper() + ":" + session,
                "arn": f"arn:aws:sts::{account}:assumed-role/{role.rsplit('/', 1)[-1]}/{session}",
            },
        }
    for key, value in extra.items():
        if key in {"externalId", "durationSeconds", "serialNumber", "principalArn"}:
            record["requestParameters"][key] = value
        else:
            record[key] = value
    return record


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def service(name: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": name}


def user(account: str, name: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper()[:12].ljust(12, "X"),
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIA" + name.upper()[:12].ljust(12, "X"),
        "userName": name,
    }


def session(account: str, role_name: str, name: str, mfa: bool = False) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role_name.upper()[:12]}:{name}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{name}",
        "accountId": account,
        "accessKeyId": "ASIA" + name.upper()[:12].ljust(12, "Y"),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role_name.upper()[:12]}",
                "arn": role(account, role_name),
                "accountId": account,
                "userName": role_name,
            },
            "webIdFederationData": {},
            "attributes": {
                "creationDate": "2026-11-01T08:00:00Z",
                "mfaAuthenticated": str(mfa).lower(),
            },
        },
    }


def owner_copy(caller_copy: dict[str, Any]) -> dict[str, Any]:
    """The role account's copy of a cross-account call: caller only as AWSAccount."""
    copy = json.loads(json.dumps(caller_copy))
    identity = caller_copy["userIdentity"]
    copy["userIdentity"] = {
        "type": "AWSAccount",
        "principalId": identity["principalId"],
        "accountId": identity["accountId"],
    }
    copy["eventID"] = _id()
    return copy


def cross_account(caller: dict[str, Any], target: str, time: str, **extra: Any) -> list[dict]:
    shared = _id()
    first = base("AssumeRole", time, caller, target, sharedEventID=shared, **extra)
    first["recipientAccountId"] = caller["accountId"]
    second = owner_copy(first)
    second["recipientAccountId"] = target.split(":")[4]
    return [first, second]


def saml_sso(time: str, account: str, user_name: str, permission_set: str) -> dict[str, Any]:
    role_arn = role(account, f"aws-reserved/sso.amazonaws.com/AWSReservedSSO_{permission_set}")
    record = base(
        "AssumeRoleWithSAML",
        time,
        {
            "type": "SAMLUser",
            "principalId": f"hashXYZ:{user_name}",
            "userName": user_name,
            "identityProvider": "hashXYZ",
        },
        role_arn,
        session=user_name,
        principalArn=f"arn:aws:iam::{account}:saml-provider/AWSSSO_1234abcd_DO_NOT_DELETE",
        ip="AWS Internal",
        agent="aws-internal/3",
    )
    record["responseElements"].update(
        subjectType="persistent",
        issuer="https://portal.sso.us-east-1.amazonaws.com/saml/assertion/x",
        subject=user_name,
        audience="https://signin.aws.amazon.com/saml",
    )
    return record


def github(time: str, account: str, role_name: str, subject: str) -> dict[str, Any]:
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    record = base(
        "AssumeRoleWithWebIdentity",
        time,
        {
            "type": "WebIdentityUser",
            "principalId": f"{provider}:sts.amazonaws.com:{subject}",
            "userName": subject,
            "identityProvider": provider,
        },
        role(account, role_name),
        session="GitHubActions",
        ip="52.154.133.36",
        agent="aws-sdk-nodejs/2.1112.0 linux/v20.19.0 configure-aws-credentials-for-github-actions",
    )
    record["responseElements"].update(
        subjectFromWebIdentityToken=subject, provider=provider, audience="sts.amazonaws.com"
    )
    return record


def routine() -> list[dict[str, Any]]:
    records = [
        base(
            "AssumeRole",
            "2026-11-01T08:00:05Z",
            service("lambda.amazonaws.com"),
            role(PROD, "orders-api-lambda"),
            ip="lambda.amazonaws.com",
            agent="lambda.amazonaws.com",
            session="awslambda_1",
        ),
        base(
            "AssumeRole",
            "2026-11-01T08:01:10Z",
            service("logs.amazonaws.com"),
            role(PROD, "log-delivery"),
            ip="logs.amazonaws.com",
            agent="logs.amazonaws.com",
            externalId=PROD,
            session="logs",
        ),
        saml_sso("2026-11-01T08:02:00Z", PROD, "alice@acme.example", "ReadOnly_5f3e"),
        github(
            "2026-11-01T08:03:00Z", PROD, "github-deploy", "repo:acme/infra:ref:refs/heads/main"
        ),
        base(
            "AssumeRole",
            "2026-11-01T08:04:00Z",
            user(VENDOR, "monitoring"),
            role(PROD, "VendorReadOnly"),
            externalId="acme-7f1c",
            session="vendor-scan",
            ip="203.0.113.10",
        ),
    ]
    records += cross_account(
        session(SECURITY, "SecurityAudit", "auditor"),
        role(PROD, "OrganizationAuditRole"),
        "2026-11-01T08:05:00Z",
        session="audit-run",
    )
    return records


def incidents() -> list[dict[str, Any]]:
    return [
        base(
            "AssumeRole",
            "2026-11-01T09:15:00Z",
            user(MGMT, "bob"),
            role(PROD, "BreakGlassAdmin"),
            session="bob-emergency",
            ip="198.51.100.77",
        ),
        base(
            "AssumeRole",
            "2026-11-01T09:16:30Z",
            user(DEV, "mallory"),
            role(SECURITY, "IncidentResponse"),
            ip="203.0.113.66",
            error=f"User: arn:aws:iam::{DEV}:user/mallory is not authorized to perform: "
            f"sts:AssumeRole on resource: {role(SECURITY, 'IncidentResponse')}",
        ),
    ]


def outsiders() -> list[dict[str, Any]]:
    records = cross_account(
        user(STRANGER, "partner-sync"),
        role(PROD, "LegacyPartnerAccess"),
        "2026-11-01T10:20:00Z",
        session="sync",
        ip="192.0.2.200",
    )
    records.reverse()  # the role owner's copy arrives first here: still one finding
    records.append(
        github(
            "2026-11-01T10:25:00Z",
            PROD,
            "github-deploy",
            "repo:someone-else/acme-infra-fork:ref:refs/heads/main",
        )
    )
    return records


def cloudwatch_logs(records: list[dict[str, Any]]) -> bytes:
    payload = {
        "owner": PROD,
        "logGroup": "aws-cloudtrail-logs-acme",
        "logStream": f"{PROD}_CloudTrail_us-east-1",
        "subscriptionFilters": ["to-kafka"],
        "messageType": "DATA_MESSAGE",
        "logEvents": [
            {"id": str(i), "timestamp": 1793520000000 + i, "message": json.dumps(r)}
            for i, r in enumerate(records)
        ],
    }
    return gzip.compress(json.dumps(payload).encode(), mtime=0)


def noise() -> list[dict[str, Any]]:
    """Non-STS management events: most of any CloudTrail topic, skipped and counted."""
    out = []
    for i in range(6):
        record = base("GetCallerIdentity", f"2026-11-01T08:1{i}:00Z", user(DEV, "ci"), None)
        record["eventSource"] = "sts.amazonaws.com"
        out.append(record)
        out.append(
            {
                **record,
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetBucketAcl",
                "eventID": _id(),
            }
        )
    return out


def main() -> None:
    OUT.mkdir(exist_ok=True)
    log_file = {"Records": routine() + noise()}
    (OUT / "01-org-trail.json.gz").write_bytes(
        gzip.compress(json.dumps(log_file, indent=1).encode(), mtime=0)
    )
    bridge = [
        {
            "version": "0",
            "id": _id(),
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.sts",
            "account": r["recipientAccountId"],
            "time": r["eventTime"],
            "region": "us-east-1",
            "resources": [],
            "detail": r,
        }
        for r in incidents()
    ]
    (OUT / "02-eventbridge.jsonl").write_text("".join(json.dumps(e) + "\n" for e in bridge))
    (OUT / "03-cloudwatch-logs.json.gz").write_bytes(cloudwatch_logs(outsiders()))
    garbage = b'{"eventVersion": "1.08", "eventSource": "sts.amazonaws.com", "eventName": "Assu'
    (OUT / "04-truncated.jsonl").write_bytes(garbage + b"\n")


if __name__ == "__main__":
    main()
