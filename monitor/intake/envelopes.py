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
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from monitor.intake.bounds import EXCERPT_BYTES, Budget, Overrun, Tally, current
from monitor.intake.ocsf import is_ocsf_api_activity, ocsf_to_cloudtrail

_PAYLOAD_SAMPLE = 64 * 1024
#: What one message's dead letter carries of it at most.
DEAD_LETTER_EXCERPT = 64 * 1024
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
    """Every record in one message or file, in order, with rejections in their place.

    The work is bounded by ``limits`` (:mod:`monitor.intake.bounds`): a document that passes
    one is a single rejection, with none of its records.
    """
    try:
        yield from _decode_bytes(data, depth=0, budget=Budget())
    except Overrun as exc:  # raised before any record of the message was yielded
        yield Rejection(exc.reason, exc.detail, data[:EXCERPT_BYTES])


def _decode_bytes(data: bytes, depth: int, budget: Budget) -> Iterator[Decoded]:
    budget.check_depth(depth)
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gunzip(data, budget.bytes_left())
        except TooLarge as exc:
            raise Overrun("too_large", str(exc)) from None
        except ValueError as exc:
            yield Rejection("invalid_gzip", str(exc), data[:_PAYLOAD_SAMPLE])
            return
        budget.spend_bytes(len(data))
    stripped = data.strip()
    if not stripped:
        return
    if stripped[:1] not in (b"{", b"["):
        decoded = _maybe_base64(stripped)
        if decoded is not None:
            nested = _decode_bytes(decoded, depth + 1, budget)
            yield from list(nested) if depth == 0 else nested  # whole, or not at all
            return
    if _looks_like_ndjson(stripped, budget):
        yield from _decode_lines(stripped, depth, budget)  # each line bounded on its own
    elif depth > 0:
        yield from _decode_document(stripped, depth, budget)
    else:
        try:  # a top-level document: all of its records, or one rejection for all of it
            yield from list(_decode_document(stripped, depth, budget))
        except Overrun as exc:
            yield Rejection(exc.reason, exc.detail, stripped[:EXCERPT_BYTES])


def _decode_document(text: bytes, depth: int, budget: Budget) -> Iterator[Decoded]:
    """One JSON document, its values counted before it is parsed."""
    budget.check_elements(text, nested=depth > 0)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        yield Rejection("invalid_json", str(exc), text[:_PAYLOAD_SAMPLE])
        return
    yield from _unwrap(document, depth, text, budget)


def _decode_lines(data: bytes, depth: int, budget: Budget) -> Iterator[Decoded]:
    """Newline-delimited JSON: each line is an envelope of its own."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            yield from list(_decode_document(line, depth, budget))
        except Overrun as exc:
            if depth > 0:
                raise  # the message's own budget: the whole message goes
            yield Rejection(exc.reason, f"line {number}: {exc.detail}", line[:EXCERPT_BYTES])


def _looks_like_ndjson(data: bytes, budget: Budget) -> bool:
    """Several lines whose first is a complete JSON document on its own."""
    first, newline, _ = data.partition(b"\n")
    if not newline:
        return False
    try:
        budget.check_elements(first, nested=False)
        orjson.loads(first)
    except Overrun:
        return True  # too big to be anything but its own line: rejected alone
    except orjson.JSONDecodeError:
        return False
    return True


def _unwrap(document: Any, depth: int, raw: bytes, budget: Budget) -> Iterator[Decoded]:
    """Recognise the envelope of one parsed JSON document and yield its records."""
    if isinstance(document, list):
        yield from _entries(document, "log_file", depth, budget)
        return
    if not isinstance(document, dict):
        yield Rejection("unknown_envelope", "JSON is not an object or array", raw[:_PAYLOAD_SAMPLE])
        return
    single = single_record(document)
    if single is not None:
        yield single
    elif isinstance(document.get("Records"), list):
        yield from _entries(document["Records"], "log_file", depth, budget)
    elif "logEvents" in document and "messageType" in document:
        yield from _cloudwatch_logs(document, depth, budget)
    elif isinstance(document.get("awslogs"), dict):
        data = document["awslogs"].get("data")
        yield from _decode_bytes(str(data or "").encode(), depth + 1, budget)
    elif str(document.get("detail-type", "")).endswith("via CloudTrail"):  # with no detail
        yield Rejection("unknown_envelope", "EventBridge event without detail", raw[:4096])
    elif is_ocsf_api_activity(document):
        yield Record(ocsf_to_cloudtrail(document), "ocsf")
    else:
        keys = ", ".join(sorted(map(str, document))[:8])
        yield Rejection("unknown_envelope", f"no known envelope (keys: {keys})", raw[:4096])


def single_record(document: dict[str, Any]) -> Record | None:
    """The record of a document that is one record and nothing else: a bare record, or an
    EventBridge event with its detail. None for every other shape (:func:`_unwrap` reads them).

    Asked in :func:`_unwrap`'s order: a log file, a CloudWatch payload, an ``awslogs`` event or
    an OCSF record that also carries these keys is read as what it is first.
    """
    if (
        isinstance(document.get("Records"), list)
        or ("logEvents" in document and "messageType" in document)
        or isinstance(document.get("awslogs"), dict)
    ):
        return None
    if str(document.get("detail-type", "")).endswith("via CloudTrail"):
        detail = document.get("detail")
        return Record(detail, "eventbridge") if isinstance(detail, dict) else None
    if is_ocsf_api_activity(document):
        return None
    if "eventName" in document and ("eventVersion" in document or "eventSource" in document):
        return Record(document, "bare")
    return None


def _entries(items: list[Any], envelope: str, depth: int, budget: Budget) -> Iterator[Decoded]:
    """The records of a list; its rejected entries become one rejection per reason."""
    budget.check_entries(len(items), envelope)
    tally = Tally(envelope)
    for item in items:
        if isinstance(item, dict) and "eventName" in item:
            yield Record(item, envelope)
        elif isinstance(item, dict):
            for decoded in _unwrap(item, depth + 1, b"", budget):
                if isinstance(decoded, Record):
                    yield decoded
                else:
                    tally.add(decoded.reason, decoded.detail, _excerpt(item))
        else:
            tally.add("not_an_object", f"{envelope} entry is {type(item).__name__}")
    for reason, detail, payload in tally.summary():
        yield Rejection(reason, detail, payload)


def _excerpt(item: Any) -> bytes:
    try:
        return orjson.dumps(item)[:EXCERPT_BYTES]
    except TypeError:
        return b""


def _cloudwatch_logs(document: dict[str, Any], depth: int, budget: Budget) -> Iterator[Decoded]:
    if document.get("messageType") == "CONTROL_MESSAGE":
        return
    events = document.get("logEvents")
    events = events if isinstance(events, list) else []
    budget.check_entries(len(events), "logEvents")
    tally = Tally("logEvents")
    for index, event in enumerate(events):
        message = event.get("message") if isinstance(event, dict) else None
        if not isinstance(message, str):
            tally.add("not_an_object", f"logEvents[{index}] has no message")
            continue
        for decoded in _decode_bytes(message.encode(), depth + 1, budget):
            if isinstance(decoded, Record):
                yield Record(decoded.data, "cloudwatch_logs")
            else:
                tally.add(decoded.reason, f"logEvents[{index}]: {decoded.detail}", decoded.payload)
    for reason, detail, payload in tally.summary():
        yield Rejection(reason, detail, payload)


def one_rejection(rejections: Sequence[Rejection], message: bytes) -> Rejection:
    """Every rejection of one message as the one dead letter it becomes (``run`` and
    ``replay --dead-letter`` alike).

    Why one: a message of 100k bad entries used to write 78k dead letters, each carrying the
    whole message. The first rejection gives the reason and its piece of the input (else the
    message's first ``DEAD_LETTER_EXCERPT`` bytes); the detail counts the others. The whole
    message stays where it came from (the dead letter names its topic and offset, or file).
    """
    first = rejections[0]
    detail = first.detail
    if len(rejections) > 1:
        counts = Counter(rejection.reason for rejection in rejections)
        shown = ", ".join(f"{reason} x{count}" for reason, count in counts.most_common(8))
        detail = f"{len(rejections)} rejections ({shown}); the first: {detail}"
    payload = (first.payload or message)[:DEAD_LETTER_EXCERPT]
    return Rejection(first.reason, detail[:2000], payload)


class TooLarge(ValueError):
    """Decompressed data would pass the configured limit."""


def gunzip(data: bytes, limit: int | None = None) -> bytes:
    """Decompress (possibly multi-member) gzip, refusing truncated input and bombs."""
    limit = current().max_decompressed_bytes if limit is None else limit
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
    return out[0] if len(out) == 1 else b"".join(out)  # one member: no second copy


def _maybe_base64(data: bytes) -> bytes | None:
    """Decoded bytes when ``data`` is base64 of gzip or JSON (Kinesis / Firehose delivery)."""
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    head = decoded.lstrip()[:1]
    return decoded if decoded[:2] == _GZIP_MAGIC or head in (b"{", b"[") else None
