"""What may name a state: a ``postgresql://`` / ``postgres://`` URL, or a file path.

Why checked up front: anything else used to be taken as an SQLite file name, so a libpq
``host=… password=…`` string became a file with the password in its name, and a typo'd
scheme (``postgresq://``) printed the password in a "no such folder" error. Every message
here names the key and the scheme at most, never the rest of the value.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

URL_SCHEMES = ("postgresql://", "postgres://")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,30}):(//)?")
#: libpq's key=value connection string (``host=db dbname=x password=…``).
_CONNINFO = re.compile(r"(?:^|\s)(host|hostaddr|dbname|user|password|port|sslmode|service)\s*=")


def is_state_url(target: str) -> bool:
    return target.startswith(URL_SCHEMES)


def problem(target: str, *, url_only: bool = False) -> str | None:
    """Why ``target`` cannot name a state (no part of it quoted), or None when it can."""
    if is_state_url(target):
        return _url_problem(target)
    if _CONNINFO.search(target):
        return "a libpq key=value string is not supported; write it as postgresql://user@host/db"
    scheme = _SCHEME.match(target)
    if scheme and (scheme.group(2) or url_only) and len(scheme.group(1)) > 1:
        return f"scheme {scheme.group(1)}: is not supported; use postgresql:// or a file path"
    if url_only:
        return "not a URL; use postgresql://user@host:5432/db (or state.path for a file)"
    return None


def _url_problem(url: str) -> str | None:
    try:
        urlsplit(url).port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return "the URL's port is not a number"
    return None


def masked(url: str) -> str:
    """``postgresql://user:***@host:port/db?options``: the password never shown."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "postgresql://(unparsable URL)"
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()
