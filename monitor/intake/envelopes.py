"""Bytes → CloudTrail records, whatever envelope they came in, recognised without configuration.

Envelopes: a bare record; a log file ``{"Records": [...]}`` (plain or gzip); a JSON array of
records; an EventBridge event; a CloudWatch Logs subscription payload (gzip, raw or base64);
an OCSF API Activity record (Security Lake); newline-delimited JSON of any of these. Every
piece that cannot be read becomes a :class:`Rejection` and decoding goes on with the rest, so
one bad line never loses the good records around it.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.intake.ocsf import is_ocsf_api_activity, ocsf_to_cloudtrail

#: A decompression bomb is cut off here; real CloudTrail log files are a few MB. Set from
#: ``limits.max_decompressed_bytes`` at startup (:func:`set_decompressed_limit`).
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_NESTING = 4
_PAYLOAD_SAMPLE = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Record:
    """One CloudTrail record and the envelope it was found in."""

    data: dict[str, Any]
    envelope: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that could not be read. ``reason`` comes from a small fixed set."""

    reason: str
    detail: str
    payload: bytes = b""


Decoded = Record | Rejection


def decode(data: bytes) -> Iterator[Decoded]:
    """Every record in one message or file, in order, with rejections in their place."""
    yield from _decode_bytes(data, depth=0)


def _decode_bytes(data: bytes, depth: int) -> Iterator[Decoded]:
    if depth > MAX_NESTING:
        yield Rejection("too_deep", "envelopes nested too deeply", data[:_PAYLOAD_SAMPLE])
        return
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gunzip(data)
        except TooLarge as exc:
            yield Rejection("too_large", str(exc), data[:_PAYLOAD_SAMPLE])
            return
        except ValueError as exc:
            yield Rejection("invalid_gzip", str(exc), data[:_PAYLOAD_SAMPLE])
            return
    stripped = data.strip()
    if not stripped:
        return
    if stripped[:1] not in (b"{", b"["):
        decoded = _maybe_base64(stripped)
        if decoded is not None:
            yield from _decode_bytes(decoded, depth + 1)
            return
    try:
        document = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        if _looks_like_ndjson(stripped):
            yield from _decode_lines(stripped, depth)
        else:
            yield Rejection("invalid_json", str(exc), stripped[:_PAYLOAD_SAMPLE])
        return
    yield from _unwrap(document, depth, raw=stripped)


def _decode_lines(data: bytes, depth: int) -> Iterator[Decoded]:
    """Newline-delimited JSON: each line is an envelope of its own."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Rejection("invalid_json", f"line {number}: {exc}", line[:_PAYLOAD_SAMPLE])
            continue
        yield from _unwrap(document, depth, raw=line)


def _looks_like_ndjson(data: bytes) -> bool:
    """Several lines whose first is a complete JSON document on its own."""
    first, newline, _ = data.partition(b"\n")
    if not newline:
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


def _unwrap(document: Any, depth: int, raw: bytes) -> Iterator[Decoded]:
    """Recognise the envelope of one parsed JSON document and yield its records."""
    if isinstance(document, list):
        for item in document:
            yield from _unwrap_item(item, "log_file", depth)
        return
    if not isinstance(document, dict):
        yield Rejection("unknown_envelope", "JSON is not an object or array", raw[:_PAYLOAD_SAMPLE])
        return
    if isinstance(document.get("Records"), list):
        for item in document["Records"]:
            yield from _unwrap_item(item, "log_file", depth)
    elif "logEvents" in document and "messageType" in document:
        yield from _cloudwatch_logs(document, depth)
    elif isinstance(document.get("awslogs"), dict):
        data = document["awslogs"].get("data")
        yield from _decode_bytes(str(data or "").encode(), depth + 1)
    elif str(document.get("detail-type", "")).endswith("via CloudTrail"):
        detail = document.get("detail")
        if isinstance(detail, dict):
            yield Record(detail, "eventbridge")
        else:
            yield Rejection("unknown_envelope", "EventBridge event without detail", raw[:4096])
    elif is_ocsf_api_activity(document):
        yield Record(ocsf_to_cloudtrail(document), "ocsf")
    elif "eventName" in document and ("eventVersion" in document or "eventSource" in document):
        yield Record(document, "bare")
    else:
        keys = ", ".join(sorted(map(str, document))[:8])
        yield Rejection("unknown_envelope", f"no known envelope (keys: {keys})", raw[:4096])


def _unwrap_item(item: Any, envelope: str, depth: int) -> Iterator[Decoded]:
    if isinstance(item, dict) and "eventName" in item:
        yield Record(item, envelope)
    elif isinstance(item, dict):
        yield from _unwrap(item, depth + 1, raw=orjson.dumps(item)[:4096])
    else:
        yield Rejection("not_an_object", f"{envelope} entry is {type(item).__name__}")


def _cloudwatch_logs(document: dict[str, Any], depth: int) -> Iterator[Decoded]:
    if document.get("messageType") == "CONTROL_MESSAGE":
        return
    events = document.get("logEvents")
    for index, event in enumerate(events if isinstance(events, list) else []):
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str):
            yield Rejection("not_an_object", f"logEvents[{index}] has no message")
            continue
        for decoded in _decode_bytes(message.encode(), depth + 1):
            if isinstance(decoded, Record):
                yield Record(decoded.data, "cloudwatch_logs")
            else:
                yield Rejection(
                    decoded.reason, f"logEvents[{index}]: {decoded.detail}", decoded.payload
                )


class TooLarge(ValueError):
    """Decompressed data would pass the configured limit."""


def set_decompressed_limit(limit: int) -> None:
    """Bound what one message or file may expand to (``limits.max_decompressed_bytes``)."""
    global MAX_DECOMPRESSED_BYTES
    MAX_DECOMPRESSED_BYTES = limit


def gunzip(data: bytes, limit: int | None = None) -> bytes:
    """Decompress (possibly multi-member) gzip, refusing truncated input and bombs."""
    limit = MAX_DECOMPRESSED_BYTES if limit is None else limit
    out: list[bytes] = []
    total = 0
    remaining = data
    while remaining[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=31)
        try:
            chunk = inflater.decompress(remaining, limit - total + 1)
        except zlib.error as exc:
            raise ValueError(f"corrupt gzip: {exc}") from None
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"gzip expands beyond {limit} bytes (limits.max_decompressed_bytes)")
        if not inflater.eof:
            raise ValueError("truncated gzip stream")
        out.append(chunk)
        remaining = inflater.unused_data
    return b"".join(out)


def _maybe_base64(data: bytes) -> bytes | None:
    """Decoded bytes when ``data`` is base64 of gzip or JSON (Kinesis / Firehose delivery)."""
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    head = decoded.lstrip()[:1]
    return decoded if decoded[:2] == _GZIP_MAGIC or head in (b"{", b"[") else None
