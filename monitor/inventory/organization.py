"""Which accounts belong to the organization (config list, list-accounts output, discovery)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.config.settings import ConfigError


@dataclass(frozen=True)
class OrgDirectory:
    """Organization member accounts, with names when known."""

    accounts: Mapping[str, str] = field(default_factory=dict)
    #: When accounts joined (list-accounts' ``JoinedTimestamp``), where the directory says:
    #: a recently joined account has a bootstrap period (see detectors/growth.py).
    joined_at: Mapping[str, datetime] = field(default_factory=dict)

    def __contains__(self, account: object) -> bool:
        return account in self.accounts

    def name(self, account: str | None) -> str | None:
        return self.accounts.get(account) if account else None

    def merged(self, more: Mapping[str, str]) -> OrgDirectory:
        return OrgDirectory({**more, **self.accounts}, self.joined_at)

    def joined(self, account: str) -> OrgDirectory:
        """This directory with ``account`` a member (its name kept when known)."""
        return OrgDirectory(
            {**self.accounts, account: self.accounts.get(account, "")}, self.joined_at
        )

    def without(self, account: str) -> OrgDirectory:
        """This directory with ``account`` no longer a member."""
        return OrgDirectory(
            {k: v for k, v in self.accounts.items() if k != account}, self.joined_at
        )

    @classmethod
    def build(cls, ids: Iterable[str], accounts_file: Path | None) -> OrgDirectory:
        accounts = {account: "" for account in ids}
        joined: dict[str, datetime] = {}
        if accounts_file is not None:
            accounts.update(load_accounts_file(accounts_file))
            joined = load_joined(accounts_file)
        return cls(accounts, joined)


def load_accounts_file(path: Path) -> dict[str, str]:
    """``aws organizations list-accounts`` output → {id: name}; suspended accounts are kept."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read accounts file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    items = document.get("Accounts") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: no Accounts list (expected organizations list-accounts)")
    return {
        str(item["Id"]): str(item.get("Name") or "")
        for item in items
        if isinstance(item, dict) and item.get("Id")
    }


def load_joined(path: Path) -> dict[str, datetime]:
    """{id: JoinedTimestamp} of a list-accounts file already read by :func:`load_accounts_file`;
    accounts without a readable timestamp are left out."""
    document = json.loads(path.read_text(encoding="utf-8"))
    joined: dict[str, datetime] = {}
    for item in document.get("Accounts", []):
        when = _timestamp(item.get("JoinedTimestamp")) if isinstance(item, dict) else None
        if when is not None and item.get("Id"):
            joined[str(item["Id"])] = when
    return joined


def _timestamp(value: Any) -> datetime | None:
    """The CLI writes ISO 8601; boto3 dumps may hold epoch seconds."""
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
