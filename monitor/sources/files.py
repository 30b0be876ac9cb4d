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
from typing import BinaryIO

from monitor.intake.envelopes import gunzip
from monitor.intake.pickling import by_position
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
_PLAIN_LINES = (".jsonl", ".ndjson")
#: How far past a split point a line's end is looked for at a time.
_SCAN = 1 << 16


@by_position
@dataclass(frozen=True, slots=True)
class Message:
    payload: bytes
    #: Where it came from: a file's path, an S3 object, or ``-`` (stdin).
    source: str
    #: Its line in ``source`` when that is JSON lines, else 0 (the whole source is one
    #: message); counted from the start of its part while a file is read in parts.
    line: int = 0

    def origin(self, lines_before: int = 0) -> str:
        """``source`` or ``source:line`` (``lines_before``: the newlines of the parts of its
        file before its own): where a dead letter came from."""
        return f"{self.source}:{lines_before + self.line}" if self.line else self.source


#: A file, ``-`` (stdin) or an S3 log object.
Source = Path | str | S3Object


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``start`` to ``end`` of a plain JSON-lines file: whole lines (``start`` is a
    line's first byte, ``end`` follows a newline or is the file's end), for one worker."""

    path: Path
    start: int
    end: int
    #: The file's size: the part that ends there is its last.
    size: int

    @property
    def last(self) -> bool:
        return self.end == self.size

    def __str__(self) -> str:
        return f"{self.path}[{self.start}:{self.end}]"


def parts(source: Source, size: int) -> list[Source | Part]:
    """A plain JSON-lines file over ``size`` bytes as parts of about ``size`` bytes each, cut
    at line ends; any other source as itself (gzip cannot be entered in the middle).

    Why: one large file would otherwise be one worker's, while the others wait.
    """
    if not isinstance(source, Path) or not source.name.lower().endswith(_PLAIN_LINES):
        return [source]
    try:
        total = source.stat().st_size
    except OSError:
        return [source]  # its reader reports the error
    if total <= size or not source.is_file():
        return [source]
    cuts = _line_starts(source, range(size, total, size), total)
    bounds = zip([0, *cuts], [*cuts, total], strict=True)
    return [Part(source, start, end, total) for start, end in bounds if end > start]


def _line_starts(path: Path, targets: Iterable[int], total: int) -> list[int]:
    """For each target offset, the start of the first line at or after it (deduplicated)."""
    cuts: list[int] = []
    with path.open("rb") as stream:
        for target in targets:
            if cuts and target <= cuts[-1]:
                continue
            cut = _next_line(stream, target, total)
            if cut < total:
                cuts.append(cut)
    return cuts


def _next_line(stream: BinaryIO, target: int, total: int) -> int:
    stream.seek(target - 1)  # a newline just before ``target`` makes ``target`` a line start
    position = target - 1
    while block := stream.read(_SCAN):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(block)
    return total


def read_part(part: Part) -> tuple[list[Message], int]:
    """The messages of one part, line numbers counted from the part's start, and how many
    newlines it holds (what the next part's numbers start after)."""
    with part.path.open("rb") as stream:
        stream.seek(part.start)
        data = stream.read(part.end - part.start)
    return list(_lines(data, str(part.path))), data.count(b"\n")


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
    yield from _lines(data, origin)


def _lines(data: bytes, origin: str) -> Iterator[Message]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield Message(line, origin, number)


def _wanted(name: str) -> bool:
    return name.endswith(SUFFIXES) and not name.endswith(".source.txt")
