"""Findings as JSON lines on stdout or in a file (appended, fsync'd at each chunk).

A file only ever holds whole lines: each finding is one ``write`` of its complete line, and when
a write fails part way (disk full, a file-size limit) the file is truncated back to where that
line began before the error is raised. (Measured before: after a full disk, 1 corrupt line and
180 duplicated findings.)

A file deduplicates itself: on open, a line torn by a crash is cut off, and the finding ids of
the last lines (at least one outbox chunk, :data:`BATCH`) are read back, so findings that were
written just before a crash, and are sent again from the outbox at restart, are not written
twice. Within one process the outbox sends each finding once; a finding skipped here is one
the file already holds. Stdout cannot be read back: at most the finding in flight repeats.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

import orjson

from monitor.findings import Finding, finding_id
from monitor.sinks.base import SinkError
from monitor.sinks.render import with_runbook

#: Findings per outbox chunk for a file: the tail read back on open covers one chunk.
BATCH = 500
#: The most read back from the end of the file on open (a few MB at most).
TAIL_BYTES = 8 * 1024 * 1024


class JsonLinesSink:
    name = "jsonl"

    def __init__(self, path: str = "-", runbook_base: str | None = None) -> None:
        self.path = path
        #: ``alerts.runbook_base_url``: each line links its detector's runbook section.
        self.runbook_base = runbook_base
        self._out: BinaryIO | None = None
        self._fd: int | None = None
        #: Finding ids of the file's last lines: read at open (written before a crash), then
        #: each line written (a chunk that failed half-way comes back whole from the outbox).
        self._tail: dict[str, None] = {}
        #: A file reads its tail back, so it takes chunks; stdout takes one finding at a time.
        self.batch = 1
        if path == "-":
            self._out = sys.stdout.buffer
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            self._tail = dict.fromkeys(tail_ids(self._fd, BATCH))
            self.batch = BATCH

    def send(self, findings: Sequence[Finding]) -> None:
        for finding in findings:
            if finding.finding_id in self._tail:
                continue  # written before a crash, resent by the outbox
            line = with_runbook(finding.to_json(), self.runbook_base, finding.detector)
            self._write(line + b"\n")
            if self._fd is not None:
                self._written(finding.finding_id)

    def _written(self, finding_id: str) -> None:
        """Remember the last two chunks' ids: enough for any chunk sent again."""
        self._tail[finding_id] = None
        if len(self._tail) > 2 * BATCH:
            del self._tail[next(iter(self._tail))]

    def _write(self, line: bytes) -> None:
        if self._fd is None:
            assert self._out is not None
            try:
                self._out.write(line)
            except OSError as exc:
                raise SinkError(f"cannot write {self.path}: {exc}") from exc
            return
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._truncate(start)
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _truncate(self, size: int) -> None:
        """Cut a partly written line off; shrinking a file needs no space."""
        assert self._fd is not None
        with contextlib.suppress(OSError):  # the error being raised says the file is unusable
            os.ftruncate(self._fd, size)

    def flush(self) -> None:
        try:
            if self._fd is None:
                assert self._out is not None
                self._out.flush()
            else:
                os.fsync(self._fd)
        except OSError as exc:
            raise SinkError(f"cannot flush {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def tail_ids(fd: int, lines: int) -> set[str]:
    """Finding ids of the last ``lines`` whole lines; a torn last line is cut off first."""
    size = os.lseek(fd, 0, os.SEEK_END)
    start = max(size - TAIL_BYTES, 0)
    data = os.pread(fd, size - start, start)
    end = data.rfind(b"\n") + 1
    if end < len(data):  # a line torn by a crash: its finding is still in the outbox
        os.ftruncate(fd, start + end)
    ids: set[str] = set()
    for line in data[:end].splitlines()[-lines:]:
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            ids.add(_line_id(line))
    return ids


def _line_id(line: bytes) -> str:
    document = orjson.loads(line)
    known = document.get("finding_id")
    if isinstance(known, str):
        return known
    return finding_id(document["detector"], document["dedup_key"], document["assumption_id"])
