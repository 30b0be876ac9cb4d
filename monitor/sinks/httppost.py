"""POSTing JSON with the standard library, failures classified and secrets kept out of messages.

Why stdlib: one small POST per batch of findings needs no connection pool, and fewer
dependencies means fewer things to patch on a security tool. Redirects are refused (a redirect
would resend the payload somewhere the operator did not configure).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import Message
from typing import IO
from urllib.parse import urlsplit

from monitor import __version__
from monitor.intake.text import clean
from monitor.sinks.base import SinkError
from monitor.sinks.retry import TransientSinkError

DEFAULT_TIMEOUT = 10.0
_BODY_SAMPLE = 300


def masked(url: str) -> str:
    """``scheme://host[:port]/***``: enough to tell receivers apart, nothing of the secret path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme or '?'}://{host}{port}/***"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises HTTPError with the 3xx code


_opener = urllib.request.build_opener(_NoRedirects)


def post_json(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> int:
    """POST ``body``; the 2xx status, or :class:`SinkError` (transient ones are retryable).

    Every error message names the URL masked and has ``secrets`` (and the URL) scrubbed, and
    none chains the underlying exception, whose text or attributes may carry the URL.
    """
    shown = masked(url)
    if not shown.startswith(("http://", "https://")):
        # Not only a clear error: urllib would also "POST" to file:// and ftp:// URLs.
        raise SinkError(f"{shown}: only http and https URLs are supported")
    try:
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("User-Agent", f"role-usage-monitor/{__version__}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        with _opener.open(request, timeout=timeout) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        error: SinkError = _http_error(exc, shown, [url, *secrets])
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        detail = _scrub(f"{type(exc).__name__}: {reason}", [url, *secrets])
        error = TransientSinkError(f"{shown}: {detail}")
    except ValueError as exc:  # an unusable URL (bad scheme, bad port)
        error = SinkError(f"{shown}: invalid URL ({_scrub(str(exc), [url, *secrets])})")
    raise error


def _http_error(exc: urllib.error.HTTPError, shown: str, secrets: Sequence[str]) -> SinkError:
    try:
        sample = exc.read(_BODY_SAMPLE).decode("utf-8", "replace")
    except OSError:
        sample = ""
    finally:
        exc.close()
    detail = _scrub(clean(sample, _BODY_SAMPLE) or "", secrets)
    message = f"{shown}: HTTP {exc.code}" + (f": {detail}" if detail else "")
    if exc.code == 429 or exc.code >= 500 or exc.code == 408:
        return TransientSinkError(message, _retry_after(exc.headers.get("Retry-After")))
    return SinkError(message)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP date: ignore it, our own backoff applies


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            try:
                path = urlsplit(secret).path if "://" in secret else ""
            except ValueError:
                path = ""
            if len(path) > 1:
                text = text.replace(path, "/***")
    return text
