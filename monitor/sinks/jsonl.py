"""Findings as JSON lines on stdout or in a file (appended, flushed at each checkpoint)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

from monitor.findings import Finding
from monitor.sinks.base import SinkError


class JsonLinesSink:
    name = "jsonl"

    def __init__(self, path: str = "-") -> None:
        self.path = path
        self._out: BinaryIO = (
            sys.stdout.buffer if path == "-" else open(path, "ab")  # noqa: SIM115
        )

    def send(self, findings: Sequence[Finding]) -> None:
        try:
            self._out.write(b"".join(f.to_json() + b"\n" for f in findings))
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc}") from exc

    def flush(self) -> None:
        try:
            self._out.flush()
            if self.path != "-":
                os.fsync(self._out.fileno())
        except OSError as exc:
            raise SinkError(f"cannot flush {self.path}: {exc}") from exc

    def close(self) -> None:
        if self.path != "-":
            self._out.close()
