"""Files, folders (recursively), stdin and S3 objects as a stream of messages for the pipeline.

A ``.jsonl``/``.ndjson`` file is one message per line, so a bad line is rejected alone; any
other file is one message, and the envelope decoder recognises what is inside.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from monitor.intake.envelopes import gunzip
from monitor.sources.s3 import (
    DEFAULT_OPTIONS,
    S3Object,
    S3Options,
    is_s3,
    list_logs,
    read_object,
)

SUFFIXES = (".json", ".json.gz", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".gz")
_LINE_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True, slots=True)
class Message:
    payload: bytes
    #: ``path`` or ``path:line`` (``-`` for stdin): where a dead letter came from.
    origin: str


#: A file, ``-`` (stdin) or an S3 log object.
Source = Path | str | S3Object


def expand(
    paths: Iterable[str],
    since: date | None = None,
    until: date | None = None,
    s3: S3Options = DEFAULT_OPTIONS,
) -> list[Source]:
    """Files named or found below folders, sorted so every replay reads the same order;
    ``s3://bucket/prefix`` is every CloudTrail log object below it (``since``/``until``: the
    delivery days to read, inclusive).

    Raises FileNotFoundError naming the first path that does not exist.
    """
    found: list[Source] = []
    for name in paths:
        if name == "-":
            found.append("-")
            continue
        if is_s3(name):
            found.extend(list_logs(name, since, until, s3))
            continue
        path = Path(name)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p.name.lower()))
            )
        elif path.exists():  # a file, or /dev/null, a FIFO, /dev/fd/N of a process substitution
            found.append(path)
        else:
            raise FileNotFoundError(name)
    return found


def read_messages(source: Source) -> Iterator[Message]:
    if source == "-":
        yield Message(sys.stdin.buffer.read(), "-")
        return
    if isinstance(source, S3Object):
        yield from split_messages(source.key, read_object(source), str(source))
        return
    path = Path(source)
    yield from split_messages(path.name, path.read_bytes(), str(path))


def split_messages(name: str, data: bytes, origin: str) -> Iterator[Message]:
    """A JSON-lines file (by its ``name``) is one message per line; anything else is one."""
    if not name.lower().endswith(_LINE_SUFFIXES):
        yield Message(data, origin)
        return
    if name.lower().endswith(".gz"):
        try:
            data = gunzip(data)
        except ValueError:
            yield Message(data, origin)  # the decoder reports the broken gzip
            return
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield Message(line, f"{origin}:{number}")


def _wanted(name: str) -> bool:
    return name.endswith(SUFFIXES) and not name.endswith(".source.txt")
