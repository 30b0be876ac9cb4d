"""Amazon Resource Names: the account, partition, resource and role name in one reading.

Why here: seven modules used to split ARNs by hand, each with its own idea of how many colons
make an ARN and whether a non-numeric account counts. Everything that reads an ARN asks here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Used with fullmatch: `$` would accept a trailing newline, `\d` non-ASCII digits.
_ACCOUNT_RE = re.compile(r"[0-9]{12}")
_ARN_RE = re.compile(
    r"arn:(?P<partition>[^:]*):(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<resource>.*)",
    re.S,
)
_UNIQUE_ID_RE = re.compile(r"A(ROA|IDA|GPA|NPA)[A-Z0-9]{8,}")


@dataclass(frozen=True, slots=True)
class Arn:
    """The fields of ``arn:<partition>:<service>:<region>:<account>:<resource>``, unvalidated."""

    partition: str
    service: str
    region: str
    account: str
    resource: str


@lru_cache(maxsize=4096)
def parse_arn(value: str) -> Arn | None:
    """The fields of an ARN, None when ``value`` is none (the resource may hold colons)."""
    found = _ARN_RE.fullmatch(value)
    return Arn(**found.groupdict()) if found else None


def is_account_id(value: str) -> bool:
    """Exactly twelve ASCII digits."""
    return _ACCOUNT_RE.fullmatch(value) is not None


def arn_account(value: str | None) -> str | None:
    """The 12-digit account of an ARN, None when it has none (``arn:aws:s3:::bucket``)."""
    arn = parse_arn(value) if value else None
    return arn.account if arn and is_account_id(arn.account) else None


def account_id(value: str) -> str | None:
    """The account a principal value names: a bare account id or an ARN's 12-digit account."""
    return value if is_account_id(value) else arn_account(value)


def arn_resource(value: str) -> str | None:
    """The resource part of an ARN (``role/path/Name``), None when ``value`` is no ARN."""
    arn = parse_arn(value)
    return arn.resource if arn else None


def account_field(value: str) -> str | None:
    """The account field of anything ARN-shaped as written, wildcards and all (``*``, ``12*``).

    For condition values and evidence, where a pattern's account must be read before it is
    judged; None when the value has fewer than six colon-separated fields.
    """
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 else None


def last_segment(value: str) -> str:
    """What follows the last ``/``: a role's name without its path, or the whole value."""
    return value.rsplit("/", 1)[-1]


def role_name(arn: str) -> str | None:
    """The name of the role an ARN names (``…:role/path/Name``), None for any other ARN."""
    return last_segment(arn) if ":role/" in arn else None


def split_role_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of ``arn:<partition>:iam::<account>:role/<path/>Name``; else None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[4], last_segment(parts[5])


def role_key(arn: str) -> tuple[str, str] | None:
    """(account, role name) of a role ARN or of a session of it (``assumed-role/Name/session``).

    A session ARN drops the role's path, so this is what a role and its sessions share.
    """
    parsed = parse_arn(arn)
    if parsed is None or not is_account_id(parsed.account):
        return None
    kind, _, rest = parsed.resource.partition("/")
    if kind == "role" and rest:
        return parsed.account, last_segment(rest)
    if kind == "assumed-role" and rest:
        return parsed.account, rest.split("/", 1)[0]
    return None


def role_arn(account: str, name: str, path: str = "/", partition: str = "aws") -> str:
    """A role's ARN from its parts; ``path`` gains the trailing ``/`` IAM always writes."""
    path = path if path.endswith("/") else path + "/"
    return f"arn:{partition}:iam::{account}:role{path}{name}"


def iam_arn(account: str, resource: str, partition: str = "aws") -> str:
    """An IAM ARN (``root``, ``saml-provider/Name``, ``oidc-provider/host``) of an account."""
    return f"arn:{partition}:iam::{account}:{resource}"


def is_unique_id(value: str) -> bool:
    """True for a user/role/group unique id, which IAM shows in place of a deleted principal."""
    return _UNIQUE_ID_RE.fullmatch(value) is not None
