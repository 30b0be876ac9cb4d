"""Writes the sample organisation's inventory: `aws organizations list-accounts` output and one
`aws iam get-account-authorization-details` output per account (roles only, trimmed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
MGMT, PROD, DEV, SECURITY = "111111111111", "222222222222", "333333333333", "444444444444"
VENDOR, STRANGER = "999988887777", "666666666666"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: dict[str, Any], action: str = "sts:AssumeRole", **condition: Any) -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


def role(account: str, name: str, policy: dict[str, Any], path: str = "/", **tags: str) -> dict:
    return {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROA" + name.upper().replace("-", "")[:16].ljust(16, "Q"),
        "Arn": f"arn:aws:iam::{account}:role{path}{name}",
        "CreateDate": "2025-01-15T10:00:00+00:00",
        "AssumeRolePolicyDocument": policy,
        "Tags": [{"Key": key.replace("_", "-"), "Value": value} for key, value in tags.items()],
        "RoleLastUsed": {},
    }


def prod_roles() -> list[dict[str, Any]]:
    github = f"arn:aws:iam::{PROD}:oidc-provider/token.actions.githubusercontent.com"
    sso = f"arn:aws:iam::{PROD}:saml-provider/AWSSSO_1234abcd_DO_NOT_DELETE"
    return [
        role(
            PROD,
            "BreakGlassAdmin",
            trust(
                allow(
                    {"AWS": f"arn:aws:iam::{MGMT}:root"},
                    **{"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                )
            ),
            break_glass="true",
        ),
        role(PROD, "orders-api-lambda", trust(allow({"Service": "lambda.amazonaws.com"}))),
        role(PROD, "log-delivery", trust(allow({"Service": "logs.amazonaws.com"}))),
        role(
            PROD,
            "github-deploy",
            trust(
                allow(
                    {"Federated": github},
                    "sts:AssumeRoleWithWebIdentity",
                    StringEquals={"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    StringLike={"token.actions.githubusercontent.com:sub": "repo:*"},
                )
            ),
        ),
        role(
            PROD,
            "VendorReadOnly",
            trust(
                allow(
                    {"AWS": f"arn:aws:iam::{VENDOR}:root"},
                    StringEquals={"sts:ExternalId": "acme-7f1c"},
                )
            ),
        ),
        role(PROD, "OrganizationAuditRole", trust(allow({"AWS": f"arn:aws:iam::{SECURITY}:root"}))),
        role(PROD, "LegacyPartnerAccess", trust(allow({"AWS": f"arn:aws:iam::{STRANGER}:root"}))),
        role(
            PROD,
            "AWSReservedSSO_ReadOnly_5f3e",
            trust(
                allow(
                    {"Federated": sso},
                    "sts:AssumeRoleWithSAML",
                    StringEquals={"SAML:aud": "https://signin.aws.amazon.com/saml"},
                )
            ),
            path="/aws-reserved/sso.amazonaws.com/",
        ),
    ]


def security_roles() -> list[dict[str, Any]]:
    return [
        role(
            SECURITY,
            "IncidentResponse",
            trust(allow({"AWS": f"arn:aws:iam::{SECURITY}:root"})),
            break_glass="true",
        ),
        role(SECURITY, "SecurityAudit", trust(allow({"AWS": f"arn:aws:iam::{MGMT}:root"}))),
    ]


def write(name: str, data: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(data, indent=2) + "\n")


def main() -> None:
    accounts = [
        (MGMT, "acme-management"),
        (PROD, "acme-prod"),
        (DEV, "acme-dev"),
        (SECURITY, "acme-security"),
    ]
    write(
        "accounts.json",
        {
            "Accounts": [
                {
                    "Id": a,
                    "Arn": f"arn:aws:organizations::{MGMT}:account/o-acme/{a}",
                    "Email": f"aws+{n}@acme.example",
                    "Name": n,
                    "Status": "ACTIVE",
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": "2024-01-01T00:00:00+00:00",
                }
                for a, n in accounts
            ]
        },
    )
    for name, roles in (("prod", prod_roles()), ("security", security_roles())):
        write(
            f"{name}-authorization-details.json",
            {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []},
        )


if __name__ == "__main__":
    main()
