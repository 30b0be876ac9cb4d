"""The bundled Acme organisation, rebuilt inside a moto server through real HTTP.

Why rebuild it instead of inventing a new one: the sample stream and its expected findings
already exist (examples/). moto gives member accounts random ids, so the sample's fixed ids are
mapped onto moto's, in the role definitions and in the stream alike, and every role is created
through a session assumed into its own account (moto reads the account from the access key of
STS-issued credentials).
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from monitor.inventory.snapshot import tags_to_dict

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
MGMT, PROD, DEV, SECURITY = "111111111111", "222222222222", "333333333333", "444444444444"
READ_ROLE = "RoleMonitorReader"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "AKIAMOTOTESTING00001", "aws_secret_access_key": "testing"}


def client(url: str, service: str, **credentials: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, **(credentials or CREDENTIALS)
    )


def assumed(url: str, account: str, service: str) -> Any:
    """A client acting inside ``account`` (moto: the role need not exist)."""
    arn = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    creds = client(url, "sts").assume_role(RoleArn=arn, RoleSessionName="setup")["Credentials"]
    return client(
        url,
        service,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


@dataclass(frozen=True)
class SampleOrg:
    url: str
    #: Sample account id → moto account id (the management account keeps its id).
    ids: dict[str, str]

    def remap(self, text: str) -> str:
        for sample, real in self.ids.items():
            text = text.replace(sample, real)
        return text

    @property
    def accounts(self) -> list[str]:
        return sorted(self.ids.values())


def build_sample_org(url: str) -> SampleOrg:
    """Organization with the sample's four accounts, their roles, and a read role in each.

    The management account gets a fresh id per call, so several builds on one server (one per
    test module) never share an organization.
    """
    management = str(random.randrange(10**11, 10**12))
    orgs = assumed(url, management, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    ids = {MGMT: management}
    for sample, name in ((PROD, "acme-prod"), (DEV, "acme-dev"), (SECURITY, "acme-security")):
        status = orgs.create_account(AccountName=name, Email=f"aws+{name}@acme.example")
        ids[sample] = status["CreateAccountStatus"]["AccountId"]
    org = SampleOrg(url, ids)
    for account in org.accounts:
        create_read_role(url, account, management)
    for name in ("prod", "security"):
        document = (EXAMPLES / "org" / f"{name}-authorization-details.json").read_text()
        for role in json.loads(org.remap(document))["RoleDetailList"]:
            create_role(url, role)
    return org


def create_read_role(url: str, account: str, management: str) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assumed(url, account, "iam").create_role(
        RoleName=READ_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
    )


def create_role(url: str, role: dict[str, Any]) -> None:
    account = role["Arn"].split(":")[4]
    iam = assumed(url, account, "iam")
    iam.create_role(
        RoleName=role["RoleName"],
        Path=role.get("Path") or "/",
        AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
        Tags=role.get("Tags") or [],
    )


def write_snapshots(org: SampleOrg, folder: Path) -> list[Path]:
    """``get-account-authorization-details`` of every account, as the CLI would save it."""
    paths = []
    for account in org.accounts:
        iam = assumed(org.url, account, "iam")
        details: dict[str, Any] = {"RoleDetailList": []}
        for page in iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["Role"]
        ):
            details["RoleDetailList"].extend(page["RoleDetailList"])
        path = folder / f"{account}-authorization-details.json"
        path.write_text(json.dumps(details, default=str, indent=1))
        paths.append(path)
    return paths


def write_accounts_file(org: SampleOrg, path: Path) -> Path:
    """``aws organizations list-accounts`` output."""
    accounts = assumed(org.url, org.ids[MGMT], "organizations").list_accounts()["Accounts"]
    path.write_text(json.dumps({"Accounts": accounts}, default=str))
    return path


def remap_stream(org: SampleOrg, folder: Path) -> Path:
    """The sample stream with the sample's account ids replaced by moto's."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted((EXAMPLES / "stream").iterdir()):
        data = source.read_bytes()
        packed = source.suffix == ".gz"
        text = org.remap((gzip.decompress(data) if packed else data).decode())
        out = text.encode()
        (folder / source.name).write_bytes(gzip.compress(out, mtime=0) if packed else out)
    return folder


def role_tags(url: str, account: str, name: str) -> dict[str, str]:
    tags = assumed(url, account, "iam").list_role_tags(RoleName=name)["Tags"]
    return tags_to_dict(tags)


def monitor_environment(org: SampleOrg) -> dict[str, str]:
    """Environment giving the monitor credentials inside the management account.

    That is where it would run (or in a delegated security account): Organizations answers
    ListAccounts there, and the read role of every account trusts it.
    """
    arn = f"arn:aws:iam::{org.ids[MGMT]}:role/role-usage-monitor"
    sts = client(org.url, "sts")
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="monitor")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_DEFAULT_REGION": REGION,
    }
