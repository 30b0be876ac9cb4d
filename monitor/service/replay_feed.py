"""Reading for ``replay`` and ``learn``: read, gunzip, parse and pre-filter in worker processes.

The stateful part (the pipeline) runs in one process and needs records in order; everything
before it is pure and per file, so ``--jobs`` workers do it and hand back, per message, only
what can matter: the records in scope, re-encoded in their own envelope, and a count of the
rest. Results come back in source order, so the findings are the same whatever ``jobs`` is.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from monitor.intake.envelopes import Record, decode
from monitor.intake.scope import in_scope, may_be_in_scope
from monitor.sources.files import Message, Source, read_messages

if TYPE_CHECKING:
    from monitor.detect.pipeline import Pipeline

#: Files read ahead per worker: enough to keep workers busy, few enough to bound memory.
AHEAD_PER_JOB = 4
#: Envelopes a kept subset can be re-encoded in without changing what the decoder yields.
_REENCODABLE = ("log_file", "bare")


def keep(record: dict[str, Any]) -> bool:
    """The pre-filter of file reading: the in-scope definition (:mod:`monitor.intake.scope`)."""
    return in_scope(record)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message after the pre-filter: what the pipeline must see, and what it need not."""

    #: Bytes for ``Pipeline.process`` (None: every record was out of scope).
    message: Message | None
    #: Records dropped by the pre-filter (the pipeline would have skipped them).
    skipped: int


def prefilter(message: Message) -> Chunk:
    """Drop out-of-scope records of one message, keeping the envelope the decoder reported.

    Anything unusual (a rejection, an envelope that cannot be rebuilt from its records, mixed
    envelopes) goes to the pipeline untouched, so dead letters and their reasons are the same.
    """
    if not may_be_in_scope(message.payload):
        return Chunk(None, 1)  # counted as the pipeline counts it: one skipped record, unparsed
    items = list(decode(message.payload))
    envelopes = {item.envelope if isinstance(item, Record) else "" for item in items}
    if len(envelopes) != 1 or next(iter(envelopes)) not in _REENCODABLE:
        return Chunk(message, 0) if items else Chunk(None, 0)
    records = [item.data for item in items if isinstance(item, Record)]
    kept = [record for record in records if keep(record)]
    skipped = len(records) - len(kept)
    if not kept:
        return Chunk(None, skipped)
    if envelopes == {"log_file"}:
        payload = orjson.dumps({"Records": kept})
    else:  # bare records, one per line: the decoder reads them back one by one
        payload = b"\n".join(orjson.dumps(record) for record in kept)
    return Chunk(Message(payload, message.origin), skipped)


def count_skipped(pipeline: Pipeline, chunk: Chunk) -> None:
    """Count what the pre-filter dropped as the pipeline counts what it skips itself (call it
    for every chunk, then ``pipeline.process(chunk.message.payload)`` when there is one)."""
    if chunk.message is None:
        pipeline.outcomes.message()
    if chunk.skipped:
        pipeline.outcomes.skipped(chunk.skipped)


def read_source(source: Source) -> list[Chunk]:
    """Every message of one file (or S3 object), pre-filtered; runs in a worker process.

    An unreadable file (permissions, a folder that vanished) is a usage error naming it.
    """
    from monitor.config.settings import ConfigError

    try:
        return [prefilter(message) for message in read_messages(source)]
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from exc


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_chunks(
    sources: Sequence[Source], jobs: int, reader: Callable[[Source], list[Chunk]] = read_source
) -> Iterator[tuple[Source, list[Chunk]]]:
    """Each source with its chunks, in source order; ``jobs`` > 1 reads in worker processes.

    stdin (``-``) is read here, in its place in the order: a worker cannot read it.
    """
    if jobs <= 1 or len(sources) <= 1:
        for source in sources:
            yield source, reader(source)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from _ordered(pool, sources, reader, jobs * AHEAD_PER_JOB)


def _ordered(
    pool: ProcessPoolExecutor,
    sources: Iterable[Source],
    reader: Callable[[Source], list[Chunk]],
    ahead: int,
) -> Iterator[tuple[Source, list[Chunk]]]:
    pending: deque[tuple[Source, Future[list[Chunk]] | None]] = deque()
    queue = iter(sources)
    for source in queue:
        pending.append((source, None if source == "-" else pool.submit(reader, source)))
        if len(pending) >= ahead:
            break
    while pending:
        source, future = pending.popleft()
        yield source, reader(source) if future is None else future.result()
        following = next(queue, None)
        if following is not None:
            task = None if following == "-" else pool.submit(reader, following)
            pending.append((following, task))
