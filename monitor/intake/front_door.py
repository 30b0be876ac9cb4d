"""The front door of every message: skip it, take its one record, or decode it.

Most messages on an organisation trail's topic are one record of another service's call. Parsing
such a record (orjson, ~3 µs a kilobyte) costs less than the byte checks that tell, without
parsing, that it cannot be in scope (:func:`monitor.intake.scope.may_be_in_scope`, ~7 µs), and
it decides exactly. So a message that is one plain record, small enough for no limit to apply,
is parsed here, once, and its record goes on parsed. Anything else (gzip, base64, several
lines, arrays, log files, CloudWatch, OCSF, text that is not JSON) goes to the byte pre-filter
and then to :func:`monitor.intake.envelopes.decode`, as before.

``run`` (through ``Pipeline.process``) and the reading workers of ``replay``/``learn`` both ask
:func:`records_of`, so they decide identically on every message.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from monitor.intake.bounds import current
from monitor.intake.envelopes import Decoded, Record, decode, single_record
from monitor.intake.scope import in_scope, may_be_in_scope

#: A record is a few KB. Past this the byte pre-filter decides, as before, so a large hostile
#: message of another service is still skipped without building its document.
ONE_RECORD_BYTES = 64 * 1024


def records_of(payload: bytes) -> Iterable[Decoded] | None:
    """What :func:`decode` yields for ``payload``; None when the message is skipped whole (it
    cannot hold an in-scope record, nor anything to reject), counted as one record."""
    record = one_record(payload)
    if record is not None:
        return (record,) if in_scope(record.data) else None
    return decode(payload) if may_be_in_scope(payload) else None


def one_record(payload: bytes) -> Record | None:
    """The record of a message that is one JSON record on one line, bare or in an EventBridge
    event, parsed; exactly what :func:`decode` would yield for it. None for any other message.

    On one line (no newline-delimited reading applies), starting with ``{`` (not gzip, not
    base64) and at most two bytes a value of ``limits.max_elements`` (no limit applies), decode
    would parse the text and unwrap the document, and nothing else.
    """
    if len(payload) > ONE_RECORD_BYTES:
        return None
    text = payload.strip()  # gzip (0x1f 0x8b) and base64 do not start with "{" once stripped
    if text[:1] != b"{" or b"\n" in text or len(text) // 2 > current().max_elements:
        return None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # decode rejects it, or the pre-filter skips it, as before
    return single_record(document)
