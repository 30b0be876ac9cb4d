"""Reading for ``replay`` and ``learn``: read, gunzip, parse, pre-filter and normalise in
worker processes.

The stateful part (the pipeline) runs in one process and needs records in order; everything
before it is pure and per file (or per part of a large JSON-lines file), so ``--jobs`` workers
do it and hand back, per message, only what can matter: the records in scope, re-encoded in
their own envelope, with the events ``normalize`` made of them, and a count of the rest.
Results come back in source order, so the findings are the same whatever ``jobs`` is.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from monitor.intake.envelopes import Record
from monitor.intake.events import Event
from monitor.intake.front_door import records_of
from monitor.intake.normalize import normalize
from monitor.intake.pickling import by_position
from monitor.intake.scope import in_scope
from monitor.sources.files import Message, Part, Source, parts, read_messages, read_part

if TYPE_CHECKING:
    from monitor.detect.pipeline import Pipeline, Processed

#: Files read ahead per worker: enough to keep workers busy, few enough to bound memory.
AHEAD_PER_JOB = 4
#: Envelopes a kept subset can be re-encoded in without changing what the decoder yields.
_REENCODABLE = ("log_file", "bare")
#: Plain JSON-lines files larger than this are read in parts of this size by several workers
#: (a day of a large organisation's trail is hundreds of MB in one file).
PART_BYTES = 8 << 20


def keep(record: dict[str, Any]) -> bool:
    """The pre-filter of file reading: the in-scope definition (:mod:`monitor.intake.scope`)."""
    return in_scope(record)


@by_position
@dataclass(frozen=True, slots=True)
class Chunk:
    """One message after the pre-filter: what the pipeline must see, and what it need not."""

    #: Bytes for ``Pipeline.process`` (None: every record was out of scope).
    message: Message | None
    #: Records dropped by the pre-filter (the pipeline would have skipped them).
    skipped: int
    #: What ``normalize`` made of each record of ``message`` (None: the pipeline normalises).
    events: tuple[Event | None, ...] | None = None


def prefilter(message: Message) -> Chunk:
    """Drop out-of-scope records of one message, keeping the envelope the decoder reported,
    and normalise the rest (the pipeline's most expensive step that needs no state).

    Anything unusual (a rejection, an envelope that cannot be rebuilt from its records, mixed
    envelopes, a record that does not normalise) goes to the pipeline as bytes, to be decoded
    and normalised there, so dead letters and their reasons are the same.
    """
    decoded = records_of(message.payload)
    if decoded is None:
        return Chunk(None, 1)  # counted as the pipeline counts it: one skipped record
    items = list(decoded)
    envelopes = {item.envelope if isinstance(item, Record) else "" for item in items}
    if len(envelopes) != 1 or next(iter(envelopes)) not in _REENCODABLE:
        return Chunk(message, 0) if items else Chunk(None, 0)
    records = [item.data for item in items if isinstance(item, Record)]
    kept = [record for record in records if keep(record)]
    skipped = len(records) - len(kept)
    if not kept:
        return Chunk(None, skipped)
    envelope = next(iter(envelopes))
    if envelope == "log_file":
        payload = orjson.dumps({"Records": kept})
    else:  # bare records, one per line: the decoder reads them back one by one
        payload = b"\n".join(orjson.dumps(record) for record in kept)
    events = normalised(kept, envelope) if records_of(payload) is not None else None
    return Chunk(Message(payload, message.source, message.line), skipped, events)


def normalised(records: list[dict[str, Any]], envelope: str) -> tuple[Event | None, ...] | None:
    """Each record's event, or None for all when one of them raises: that message goes the
    pipeline's own way, which turns the error into the same rejection as without workers."""
    try:
        return tuple(normalize(record, envelope) for record in records)
    except Exception:  # the pipeline meets it again, and counts and dead-letters it
        return None


def count_skipped(pipeline: Pipeline, chunk: Chunk) -> None:
    """Count what the pre-filter dropped as the pipeline counts what it skips itself (call it
    for every chunk, then :func:`process` when there is a message)."""
    if chunk.message is None:
        pipeline.outcomes.message()
    if chunk.skipped:
        pipeline.outcomes.skipped(chunk.skipped)


def process(pipeline: Pipeline, chunk: Chunk, message: Message) -> Processed:
    """The chunk's message through the pipeline: its events when a worker made them."""
    if chunk.events is None:
        return pipeline.process(message.payload)
    return pipeline.process_normalised(message.payload, chunk.events)


def read_source(source: Source) -> list[Chunk]:
    """Every message of one file (or S3 object), pre-filtered; runs in a worker process."""
    return list(chunks_of(source))


def chunks_of(source: Source) -> Iterator[Chunk]:
    """:func:`read_source` one message at a time: how ``--jobs 1`` reads, so that only one
    message's events are held (a day's file normalised at once held ~270 MB more).

    An unreadable file (permissions, a folder that vanished) is a usage error naming it.
    """
    with _readable(source):
        for message in read_messages(source):
            yield prefilter(message)


@contextlib.contextmanager
def _readable(name: object) -> Iterator[None]:
    """An OSError inside (permissions, a folder that vanished) as a usage error naming it."""
    from monitor.config.settings import ConfigError

    try:
        yield
    except OSError as exc:
        raise ConfigError(f"cannot read {name}: {exc.strerror or exc}") from exc


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


#: What a worker returns for a source or a part: its chunks and the newlines it held.
Piece = tuple[list[Chunk], int]
#: A source or a part, its chunks, and the newlines of its file before it (a later part's
#: messages are numbered from the part's start: see ``Message.origin``).
Read = tuple[Source | Part, Iterable[Chunk], int]


def read_piece(item: Source | Part) -> Piece:
    """:func:`read_source` of a whole source, or the chunks of one part of a file."""
    if not isinstance(item, Part):
        return read_source(item), 0
    with _readable(item.path):
        messages, newlines = read_part(item)
    return [prefilter(message) for message in messages], newlines


def read_chunks(sources: Sequence[Source], jobs: int) -> Iterator[Read]:
    """Each source (or part of one) with its chunks, in source order; ``jobs`` > 1 reads in
    worker processes, a large plain JSON-lines file in :data:`PART_BYTES` parts.

    stdin (``-``) is read here, in its place in the order: a worker cannot read it.
    """
    if jobs <= 1:
        for source in sources:
            yield source, chunks_of(source), 0
        return
    items = [item for source in sources for item in parts(source, PART_BYTES)]
    if len(items) <= 1:
        for item in items:
            yield item, read_piece(item)[0], 0
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from _in_files(_ordered(pool, items, jobs * AHEAD_PER_JOB))


def _in_files(pieces: Iterator[tuple[Source | Part, Piece]]) -> Iterator[Read]:
    """Each piece with the newlines of the parts of its file before it."""
    before = 0
    for item, (chunks, newlines) in pieces:
        if isinstance(item, Part):
            before = 0 if item.start == 0 else before
            yield item, chunks, before
            before += newlines
        else:
            yield item, chunks, 0


def _ordered(
    pool: ProcessPoolExecutor, items: Iterable[Source | Part], ahead: int
) -> Iterator[tuple[Source | Part, Piece]]:
    pending: deque[tuple[Source | Part, Future[Piece] | None]] = deque()
    queue = iter(items)
    for item in queue:
        pending.append((item, None if item == "-" else pool.submit(read_piece, item)))
        if len(pending) >= ahead:
            break
    while pending:
        item, future = pending.popleft()
        yield item, read_piece(item) if future is None else future.result()
        following = next(queue, None)
        if following is not None:
            task = None if following == "-" else pool.submit(read_piece, following)
            pending.append((following, task))
