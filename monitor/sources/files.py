"""Files, folders (recursively) and stdin as a stream of messages for the pipeline.

A ``.jsonl``/``.ndjson`` file is one message per line, so a bad line is rejected alone; any
other file is one message, and the envelope decoder recognises what is inside.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.envelopes import gunzip

SUFFIXES = (".json", ".json.gz", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".gz")
_LINE_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True, slots=True)
class Message:
    payload: bytes
    #: ``path`` or ``path:line`` (``-`` for stdin): where a dead letter came from.
    origin: str


def expand(paths: Iterable[str]) -> list[Path | str]:
    """Files named or found below folders, sorted so every replay reads the same order.

    Raises FileNotFoundError naming the first path that does not exist.
    """
    found: list[Path | str] = []
    for name in paths:
        if name == "-":
            found.append("-")
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


def read_messages(source: Path | str) -> Iterator[Message]:
    if source == "-":
        yield Message(sys.stdin.buffer.read(), "-")
        return
    path = Path(source)
    data = path.read_bytes()
    if not path.name.lower().endswith(_LINE_SUFFIXES):
        yield Message(data, str(path))
        return
    if path.name.lower().endswith(".gz"):
        try:
            data = gunzip(data)
        except ValueError:
            yield Message(data, str(path))  # the decoder reports the broken gzip
            return
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield Message(line, f"{path}:{number}")


def _wanted(name: str) -> bool:
    return name.endswith(SUFFIXES) and not name.endswith(".source.txt")
