"""Role metadata from ``aws iam get-account-authorization-details`` output files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from monitor.aws.arns import arn_account, split_role_arn
from monitor.aws.policy import policy_document
from monitor.config.settings import ConfigError
from monitor.inventory.roles import LookupStatus, RoleInfo, RoleLookup

_UNKNOWN = RoleLookup(LookupStatus.UNKNOWN)


class SnapshotSource:
    """Roles of the accounts covered by authorization-details files, held in memory."""

    name = "snapshot"

    def __init__(self, roles: Iterable[RoleInfo], accounts: Iterable[str] = ()) -> None:
        # Answers built once: a lookup per assumption then allocates nothing.
        self._found = {
            (role.account, role.name.lower()): RoleLookup(LookupStatus.FOUND, role, self.name)
            for role in roles
        }
        self.accounts = set(accounts) | {account for account, _ in self._found}
        self._not_found = RoleLookup(LookupStatus.NOT_FOUND, source=self.name)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> SnapshotSource:
        roles: list[RoleInfo] = []
        accounts: set[str] = set()
        for path in paths:
            file_roles, file_accounts = load_authorization_details(path)
            roles.extend(file_roles)
            accounts |= file_accounts
        return cls(roles, accounts)

    def lookup(self, account: str, role_name: str) -> RoleLookup:
        found = self._found.get((account, role_name.lower()))
        if found is not None:
            return found
        return self._not_found if account in self.accounts else _UNKNOWN

    def roles(self) -> Iterable[RoleInfo]:
        return [found.role for found in self._found.values() if found.role is not None]


def load_authorization_details(path: Path) -> tuple[list[RoleInfo], set[str]]:
    """Roles in one file, and the accounts the file covers (from every ARN in it)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read authorization details {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("RoleDetailList"), list):
        raise ConfigError(f"{path}: no RoleDetailList (expected get-account-authorization-details)")
    roles = [role for item in document["RoleDetailList"] if (role := _role(item)) is not None]
    accounts = {role.account for role in roles} | _accounts_in(document)
    return roles, accounts


def _role(item: Any) -> RoleInfo | None:
    if not isinstance(item, dict) or not isinstance(item.get("Arn"), str):
        return None
    target = split_role_arn(item["Arn"])
    if target is None:
        return None
    account, name = target
    return RoleInfo(
        arn=item["Arn"],
        account=account,
        name=str(item.get("RoleName") or name),
        source="snapshot",
        path=str(item.get("Path") or "/"),
        tags=tags_to_dict(item.get("Tags")),
        trust_policy=policy_document(item.get("AssumeRolePolicyDocument")),
        create_date=str(item["CreateDate"]) if item.get("CreateDate") else None,
    )


def tags_to_dict(tags: Any) -> dict[str, str]:
    """IAM's ``[{"Key": k, "Value": v}]`` as a mapping."""
    if not isinstance(tags, list):
        return {}
    return {
        str(tag["Key"]): str(tag.get("Value", ""))
        for tag in tags
        if isinstance(tag, dict) and "Key" in tag
    }


def _accounts_in(document: dict[str, Any]) -> set[str]:
    accounts: set[str] = set()
    for key in ("UserDetailList", "GroupDetailList", "Policies"):
        for item in document.get(key) or []:
            arn = item.get("Arn") if isinstance(item, dict) else None
            account = arn_account(arn) if isinstance(arn, str) else None
            if account is not None:
                accounts.add(account)
    return accounts
