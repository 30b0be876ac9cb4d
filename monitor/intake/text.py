"""Bounding attacker-controlled text before it travels anywhere.

CloudTrail copies caller-supplied values (user agents, session names, error messages) verbatim.
They are capped in length and their control characters are made visible, once, at the edge, so
that no later format (JSON lines, Slack, Alertmanager, terminals) can be broken by them.
"""

from __future__ import annotations

import re

DEFAULT_LIMIT = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ELLIPSIS = "…"


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clean(value: object, limit: int = DEFAULT_LIMIT) -> str | None:
    """A printable, bounded rendering of ``value``; None stays None."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:
        text = text[: limit * 4]
    if not text.isprintable():  # every character _CONTROL names is non-printable: skip the scan
        text = _CONTROL.sub(_visible, text)
    if len(text) > limit:
        text = text[: limit - 1] + _ELLIPSIS
    return text
