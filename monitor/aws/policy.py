"""Policy text: IAM returns policy documents as JSON text, sometimes URL-encoded.

Why one reading: URL-decoding first mangles a document whose values hold a literal ``%``
(``%41`` becomes ``A``), so plain JSON is tried first and the URL-decoded text only when that
fails.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import unquote

#: What :func:`load_policy_text` answers for text that is JSON neither as is nor URL-decoded.
UNREADABLE: Final = object()


def load_policy_text(text: str) -> object:
    """JSON text as is, or after URL-decoding (what IAM's get-role returns); else UNREADABLE."""
    for candidate in (text, unquote(text)):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return UNREADABLE


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy as a dict, from a dict or its (URL-encoded) JSON text; None otherwise."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    parsed = load_policy_text(value)
    return parsed if isinstance(parsed, dict) else None
