"""Every key the state stores or indexes, bounded in bytes, on every backend.

Why: keys are built from caller-supplied text (principal ids, user names, web-identity
subjects, dedup keys that name them). One 2,048-character name in two-byte characters made a
4 KB key, past PostgreSQL's B-tree limit (2,704 bytes per index row): every checkpoint failed
and every partition of the instance stopped for good. A long key keeps a readable prefix and
ends in the SHA-256 of the whole text, so two long names never share a row; the full text
stays in the finding's evidence, which is not indexed.
"""

from __future__ import annotations

import hashlib

#: Bytes (UTF-8) a key part may have before it is shortened: with the two parts of a
#: composite key and the row header, far inside PostgreSQL's 2,704-byte index rows.
MAX_KEY_BYTES = 256
#: Readable bytes kept in front of the hash of a shortened key.
PREFIX_BYTES = 96
#: Ends every shortened key. A short text carrying it is shortened too, so a name crafted to
#: look like another's shortened key can never take that key's row.
MARK = "\x1fsha256:"


#: Characters a text may have to be kept as it is without encoding it (4 bytes each at most).
_SHORT = MAX_KEY_BYTES // 4


def bounded(text: str) -> str:
    """``text`` itself when short, else its prefix, :data:`MARK` and its SHA-256 (hex)."""
    if len(text) <= _SHORT and "\x1f" not in text:
        return text  # the common case, without encoding: 4 bytes per character at most
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_KEY_BYTES and MARK not in text:
        return text
    prefix = raw[:PREFIX_BYTES].decode("utf-8", "ignore")  # never half a character
    return f"{prefix}{MARK}{hashlib.sha256(raw).hexdigest()}"


def bounded_key(namespace: str, key: str | None = None) -> tuple[str, ...]:
    """A key tuple (one part, or namespace and key) with every part bounded. Spelled out, not
    a generator over ``*parts``: it runs a dozen times per assumption."""
    if key is None:
        return (bounded(namespace),)
    # bounded()'s common case for both parts inline: a dozen calls per assumption.
    short = len(namespace) <= _SHORT and len(key) <= _SHORT
    if short and "\x1f" not in namespace and "\x1f" not in key:
        return (namespace, key)
    return (bounded(namespace), bounded(key))
