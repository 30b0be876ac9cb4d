"""Break-glass roles: which configuration entry, if any, marks a role an emergency role.

Why one function: enrichment decides whether an assumption is break-glass (and so which
detectors run) and the detectors' evidence says which rule matched; two copies disagreed on
an empty configured tag value against a role without that tag. A tag rule matches a role that
carries the tag with that value (both case-insensitive); a missing tag never matches, else
``role_tags: {"break-glass": ""}`` would make every untagged role in the estate page on use.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from monitor.aws.arns import last_segment
from monitor.config.settings import BreakGlassConfig
from monitor.inventory.roles import RoleInfo


def break_glass_rule(
    role_arn: str | None, role: RoleInfo | None, config: BreakGlassConfig
) -> str | None:
    """The entry that marks the role break-glass (``role_arns``, a pattern, a tag), or None.

    By ARN, by role-name pattern (case-insensitive) or by a matching tag on the role.
    """
    if not role_arn:
        return None
    if role_arn in config.role_arns:
        return "role_arns"
    name = last_segment(role_arn).lower()
    for pattern in config.role_name_patterns:
        if fnmatchcase(name, pattern.lower()):
            return f"role_name_patterns: {pattern}"
    tags = {key.lower(): value.lower() for key, value in (role.tags if role else {}).items()}
    for key, value in config.role_tags.items():
        if tags.get(key.lower()) == value.lower():
            return f"role_tags: {key}={value}"
    return None


def is_break_glass(role_arn: str | None, role: RoleInfo | None, config: BreakGlassConfig) -> bool:
    """True when any entry of ``config`` marks the role break-glass."""
    return break_glass_rule(role_arn, role, config) is not None
