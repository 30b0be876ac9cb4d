"""The little HTTP/1.1 the endpoints speak: a request head in, a whole response out.

Why not ``http.server``'s handler: it reads the request head with blocking reads on a worker
thread, so a client that sends ``GET /healthz HTTP/1.1`` and never the blank line held a worker
for the whole socket timeout; a few such connections a second starved ``/healthz``. Here the
head is gathered without blocking by the server's selector thread (monitor/service/http.py)
and parsed only once complete; nothing of it is trusted beyond the request line and ``Accept``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A request head longer than this is refused (431): ours are a few hundred bytes.
MAX_HEAD_BYTES = 8192

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Head:
    """What a request asks: its method, its path (no query), its ``Accept`` and credentials."""

    method: str
    path: str
    accept: str = ""
    authorization: str | None = None


class BadRequest(ValueError):
    """The head is not an HTTP/1.x request."""


def head_end(buffer: bytes) -> int:
    """Where the head ends (the blank line), or -1 while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end >= 0:
        return end
    return buffer.find(b"\n\n")


def parse_head(raw: bytes) -> Head:
    lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("not an HTTP/1.x request line")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip().lower()] = value.strip()
    path = parts[1].split("?", 1)[0]
    return Head(parts[0], path, fields.get("accept", ""), fields.get("authorization"))


def response(
    status: int,
    body: bytes,
    content_type: str = TEXT,
    with_body: bool = True,
    extra: str = "",
) -> bytes:
    """A whole response; every connection closes after its answer (no keep-alive slots).
    ``extra``: further header lines, each ending in CRLF."""
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\n{extra}"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + body if with_body else head


#: Asks a client without valid credentials for them (basic auth, ``metrics.web_config``).
CHALLENGE = 'WWW-Authenticate: Basic realm="role-usage-monitor"\r\n'
