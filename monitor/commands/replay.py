"""``role-monitor replay --config FILE PATH...``: the pipeline over files, findings on stdout.

State lives in memory unless ``--state`` names a file, so replaying the same input always gives
the same findings, byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import orjson

from monitor.app import Monitor, build_monitor
from monitor.config import ConfigError, load_settings
from monitor.delivery import Delivery
from monitor.envelopes import Rejection
from monitor.findings import Finding
from monitor.pretty import PrettySink
from monitor.sinks.base import Sink
from monitor.sinks.jsonl import JsonLinesSink
from monitor.sources.files import Message, expand, read_messages
from monitor.summary import Progress, summary_lines

#: Records between two state commits of :func:`feed`.
CHECKPOINT_RECORDS = 100_000


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "replay", help="run the detectors over CloudTrail files; findings as JSON lines"
    )
    parser.add_argument("--config", help="YAML configuration file")
    parser.add_argument(
        "--format",
        choices=("json", "pretty"),
        default="json",
        help="json: one finding per line (default); pretty: for people",
    )
    parser.add_argument(
        "--state", metavar="PATH", help="state store to use (default: in memory, fresh)"
    )
    add_sources(parser)
    parser.set_defaults(handler=run)


def add_sources(parser: argparse.ArgumentParser) -> None:
    """The inputs of every command that reads CloudTrail through :func:`feed`."""
    parser.add_argument(
        "--dead-letter", metavar="FILE", help="write each rejected input with its reason here"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, or - (stdin)")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    sources = sources_of(args.paths)
    monitor = build_monitor(settings, state_path=state_path(args.state))
    sink: Sink = PrettySink(sys.stdout) if args.format == "pretty" else JsonLinesSink("-")
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    try:
        elapsed = feed(monitor, sources, delivery, args.dead_letter)
    finally:
        monitor.close()
    for line in summary_lines(monitor.pipeline.stats, elapsed):
        print(line, file=sys.stderr)
    return 0


class Deliverer(Protocol):
    """Where :func:`feed` hands findings: :class:`Delivery`, or ``learn``'s stand-in."""

    def deliver(self, findings: Sequence[Finding]) -> int: ...

    def flush(self) -> None: ...


def sources_of(paths: list[str]) -> list[Path | str]:
    """The files named (folders expanded, ``-`` for stdin); a missing one is a usage error."""
    try:
        return expand(paths)
    except FileNotFoundError as exc:
        raise ConfigError(f"no such file or folder: {exc.args[0]}") from exc


def feed(
    monitor: Monitor, sources: list[Path | str], delivery: Deliverer, dead_letter: str | None
) -> float:
    """Every message of ``sources`` through the pipeline into ``delivery``, with a checkpoint
    (findings flushed, then the state committed) every :data:`CHECKPOINT_RECORDS` records
    and at the end. Returns the seconds it took; the caller closes ``monitor``.

    Why checkpoints: weeks of history in one transaction grew SQLite's write-ahead log without
    bound (278 MB for 300 k records), as it cannot be checkpointed while the transaction is
    open. Why not after every file: that rewrote the hot pages at each commit (40 % slower).
    """
    dead_letters = _open_dead_letters(dead_letter)
    started = time.perf_counter()
    progress = Progress(len(sources), sys.stderr)
    committed = 0
    try:
        for source in sources:
            for message in _read(source):
                _replay_message(monitor, delivery, message, dead_letters)
            progress.advance(monitor.pipeline.stats.records)
            monitor.pipeline.maybe_prune()
            if monitor.pipeline.stats.records - committed >= CHECKPOINT_RECORDS:
                _checkpoint(monitor, delivery)
                committed = monitor.pipeline.stats.records
        _checkpoint(monitor, delivery)
    finally:
        progress.close()
        if dead_letters is not None:
            dead_letters.close()
    return time.perf_counter() - started


def state_path(value: str | None) -> str:
    """``--state``, checked before anything is created: a typo must not make folders."""
    if value is None or value == ":memory:":
        return ":memory:"
    folder = Path(value).parent
    if not folder.is_dir():
        raise ConfigError(f"--state {value}: no such folder {folder}")
    return value


def _read(source: Path | str) -> Iterator[Message]:
    try:
        yield from read_messages(source)
    except OSError as exc:  # unreadable (permissions, a folder that vanished): a usage error
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from exc


def _checkpoint(monitor: Monitor, delivery: Deliverer) -> None:
    """Findings out first, then the state: the order of every checkpoint."""
    delivery.flush()
    monitor.state.commit()


def _replay_message(
    monitor: Monitor, delivery: Deliverer, message: Message, dead_letters: BinaryIO | None
) -> None:
    processed = monitor.pipeline.process(message.payload)
    delivery.deliver(processed.findings)
    if dead_letters is not None:
        for rejection in processed.rejections:
            dead_letters.write(dead_letter_line(rejection, message.origin))


def dead_letter_line(rejection: Rejection, origin: str) -> bytes:
    """One JSON line: reason, detail, where it came from, and the input (text or base64)."""
    payload = rejection.payload
    try:
        text: str | None = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    record: dict[str, Any] = {
        "reason": rejection.reason,
        "detail": rejection.detail,
        "origin": origin,
    }
    if text is not None:
        record["payload"] = text
    else:
        import base64

        record["payload_base64"] = base64.b64encode(payload).decode()
    return orjson.dumps(record) + b"\n"


def _open_dead_letters(path: str | None) -> BinaryIO | None:
    if path is None:
        return None
    try:
        return Path(path).open("wb")
    except OSError as exc:
        raise ConfigError(f"cannot write dead letters to {path}: {exc.strerror}") from exc
