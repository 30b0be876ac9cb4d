"""``role-monitor replay --config FILE PATH...``: the pipeline over files, findings on stdout.

State lives in memory unless ``--state`` names a file, so replaying the same input always gives
the same findings, byte for byte, whatever ``--jobs`` is (workers read, pre-filter and
normalise; the pipeline gets the records in order).
Heavy modules are imported in :func:`run`, not at import time: ``role-monitor --help`` and a
small replay start without paying for boto3, kafka-python or the detectors of other commands.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

if TYPE_CHECKING:
    from monitor.config.settings import Settings
    from monitor.findings import Finding
    from monitor.intake.envelopes import Rejection
    from monitor.service.app import Monitor
    from monitor.service.replay_feed import Chunk
    from monitor.sources.files import Message, Source

#: Records between two state commits of :func:`feed`.
CHECKPOINT_RECORDS = 100_000
#: The outbox scope of findings from files (``monitor.sinks.delivery.LOCAL``).
LOCAL_SCOPE = "local"


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
    """The inputs of every command that reads CloudTrail through :func:`feed` (``replay``,
    ``learn``): PATH..., ``--dead-letter``, ``--jobs``, ``--since``/``--until``."""
    parser.add_argument(
        "--dead-letter", metavar="FILE", help="write each rejected input with its reason here"
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        metavar="N",
        help="processes reading, decompressing, parsing and normalising files, a large "
        "JSON-lines file in parts (default: number of cores)",
    )
    parser.add_argument(
        "--since", type=_day, metavar="YYYY-MM-DD", help="s3:// sources: first delivery day"
    )
    parser.add_argument(
        "--until", type=_day, metavar="YYYY-MM-DD", help="s3:// sources: last delivery day"
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders, - (stdin), or s3://bucket/prefix"
    )


def run(args: argparse.Namespace) -> int:
    from monitor.config.settings import load_settings
    from monitor.service.app import build_monitor
    from monitor.service.summary import summary_lines
    from monitor.sinks.base import Sink
    from monitor.sinks.delivery import Delivery
    from monitor.sinks.jsonl import JsonLinesSink

    settings = load_settings(args.config)
    sources = sources_of(args, settings)
    monitor = build_monitor(settings, state_path=state_path(args.state))
    if args.format == "pretty":
        from monitor.sinks.pretty import PrettySink

        sink: Sink = PrettySink(sys.stdout)
    else:
        sink = JsonLinesSink("-")
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    try:
        elapsed = feed(monitor, sources, delivery, args.dead_letter, args.jobs)
    finally:
        monitor.close()
    for line in summary_lines(monitor.pipeline.stats, elapsed):
        print(line, file=sys.stderr)
    return 0


class Deliverer(Protocol):
    """Where :func:`feed` hands findings: :class:`Delivery`, or ``learn``'s stand-in."""

    def enqueue(self, findings: Sequence[Finding]) -> int: ...

    def stage(self) -> None: ...

    def committed(self) -> None: ...

    def drain(self, scopes: Sequence[str] | None = None) -> int: ...


def feed(
    monitor: Monitor,
    sources: Sequence[Source],
    delivery: Deliverer,
    dead_letter: str | None,
    jobs: int | None = None,
) -> float:
    """Every message of ``sources`` through the pipeline into ``delivery``, with a checkpoint
    (state and outbox committed, then the outbox delivered) every :data:`CHECKPOINT_RECORDS` records
    and at the end. Returns the seconds it took; the caller closes ``monitor``.

    Why checkpoints: weeks of history in one transaction grew SQLite's write-ahead log without
    bound (278 MB for 300 k records), as it cannot be checkpointed while the transaction is
    open. Why not after every file: that rewrote the hot pages at each commit (40 % slower).
    """
    from monitor.service.collector import fewer_collections
    from monitor.service.progress import Progress
    from monitor.service.replay_feed import default_jobs, read_chunks

    dead_letters = _open_dead_letters(dead_letter)
    started = time.perf_counter()
    progress = Progress(len(sources), sys.stderr)
    committed = 0
    with fewer_collections():
        try:
            for item, chunks, lines_before in read_chunks(list(sources), jobs or default_jobs()):
                for chunk in chunks:
                    _replay_chunk(monitor, delivery, chunk, dead_letters, lines_before)
                progress.advance(monitor.pipeline.stats.records, 0 if _partial(item) else 1)
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


def _partial(item: object) -> bool:
    """A part of a file read in parts, not its last: the file is not done yet."""
    from monitor.sources.files import Part

    return isinstance(item, Part) and not item.last


def state_path(value: str | None) -> str:
    """``--state``, checked before anything is created: a typo must not make folders."""
    from monitor.config.settings import ConfigError
    from monitor.config.state_target import problem
    from monitor.service.app import is_url

    if value is None or value == ":memory:":
        return ":memory:"
    why = problem(value)
    if why:
        raise ConfigError(f"--state: {why}")
    if is_url(value):
        return value  # a shared PostgreSQL state (docs/scaling.md), checked when opened
    folder = Path(value).parent
    if not folder.is_dir():
        raise ConfigError(f"--state {value}: no such folder {folder}")
    return value


def sources_of(args: argparse.Namespace, settings: Settings) -> list[Source]:
    """The files and S3 objects named on the command line; ConfigError for a missing one."""
    from monitor.config.settings import ConfigError
    from monitor.sources.files import expand
    from monitor.sources.s3 import S3Options

    s3 = S3Options(**settings.s3.model_dump())
    try:
        return expand(args.paths, args.since, args.until, s3)
    except FileNotFoundError as exc:
        raise ConfigError(f"no such file or folder: {exc.args[0]}") from exc


def _replay_chunk(
    monitor: Monitor,
    delivery: Deliverer,
    chunk: Chunk,
    dead_letters: BinaryIO | None,
    lines_before: int,
) -> None:
    from monitor.service.replay_feed import count_skipped

    count_skipped(monitor.pipeline, chunk)
    if chunk.message is not None:
        _replay_message(monitor, delivery, chunk, chunk.message, dead_letters, lines_before)


def _checkpoint(monitor: Monitor, delivery: Deliverer) -> None:
    """The order of every checkpoint: state and outbox in one commit, then the outbox out."""
    delivery.stage()
    monitor.state.commit()
    delivery.committed()
    delivery.drain([LOCAL_SCOPE])  # a shared state's Kafka rows are the group's to send


def _replay_message(
    monitor: Monitor,
    delivery: Deliverer,
    chunk: Chunk,
    message: Message,
    dead_letters: BinaryIO | None,
    lines_before: int,
) -> None:
    from monitor.service.replay_feed import process

    processed = process(monitor.pipeline, chunk, message)
    delivery.enqueue(processed.findings)
    if dead_letters is not None and processed.rejections:
        from monitor.intake.envelopes import one_rejection

        rejection = one_rejection(processed.rejections, message.payload)
        dead_letters.write(dead_letter_line(rejection, message.origin(lines_before)))


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
    import orjson

    return orjson.dumps(record) + b"\n"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def _open_dead_letters(path: str | None) -> BinaryIO | None:
    from monitor.config.settings import ConfigError

    if path is None:
        return None
    try:
        return Path(path).open("wb")
    except OSError as exc:
        raise ConfigError(f"cannot write dead letters to {path}: {exc.strerror}") from exc
