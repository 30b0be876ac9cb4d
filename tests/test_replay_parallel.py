"""``replay --jobs``: reading in worker processes changes nothing a user sees."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CORPUS, REPO

from monitor.intake.envelopes import Record, decode
from monitor.service import replay_feed
from monitor.service.replay_feed import keep, prefilter
from monitor.sources.files import Message, Part, parts, read_part, split_messages

EXAMPLES = REPO / "examples"


def replay(*args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "monitor.cli", "replay", *args]
    return subprocess.run(command, capture_output=True, timeout=300, cwd=REPO)


def _summary(stderr: bytes) -> list[str]:
    """The closing summary without its timing line."""
    return [line for line in stderr.decode().splitlines() if not line.startswith("records read")]


def _log_file(records: list[dict], noise: int) -> bytes:
    """A CloudTrail log file: the records among ``noise`` out-of-scope calls each."""
    out = []
    for number, record in enumerate(records):
        for n in range(noise):
            out.append({"eventVersion": "1.08", "eventSource": "s3.amazonaws.com",
                        "eventName": "GetObject", "eventID": f"noise-{number}-{n}",
                        "eventTime": record.get("eventTime", "2026-11-01T00:00:00Z")})  # fmt: skip
        out.append(record)
    return gzip.compress(json.dumps({"Records": out}).encode(), mtime=0)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    shutil.copytree(CORPUS, folder / "corpus")
    shutil.copytree(EXAMPLES / "stream", folder / "sample")
    in_scope = [
        record.data
        for path in sorted((EXAMPLES / "stream").glob("*.json.gz"))
        for record in decode(path.read_bytes())
        if isinstance(record, Record)
    ]
    for number in range(6):  # several files, so several workers have something to do
        logs = folder / "logs" / f"{number:02d}_CloudTrail_us-east-1.json.gz"
        logs.parent.mkdir(parents=True, exist_ok=True)
        logs.write_bytes(_log_file(in_scope[number::6], noise=3))
    (folder / "garbage.jsonl").write_bytes(b'{"a":\n\x00\x01\n42\n')
    return folder


def test_findings_dead_letters_and_counts_do_not_depend_on_jobs(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    config = str(EXAMPLES / "config.yaml")
    runs = {
        jobs: replay("--config", config, "--jobs", jobs, "--dead-letter", str(tmp_path / jobs),
                     str(folder))
        for jobs in ("1", "3")
    }  # fmt: skip
    one, three = runs["1"], runs["3"]
    assert one.returncode == 0 and three.returncode == 0, three.stderr
    assert len(one.stdout.splitlines()) > 5
    assert one.stdout == three.stdout
    assert (tmp_path / "1").read_bytes() == (tmp_path / "3").read_bytes()
    assert (tmp_path / "1").read_bytes()
    assert _summary(one.stderr) == _summary(three.stderr)


def test_prefilter_keeps_the_envelope_and_counts_what_it_drops() -> None:
    sts = json.loads((CORPUS / "cloud-snitch/TestReport_AWSAccountEvent.json").read_text())
    noise = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}
    payload = json.dumps({"Records": [noise, sts, noise]}).encode()
    chunk = prefilter(Message(payload, "f.json"))
    assert chunk.skipped == 2 and chunk.message is not None
    assert [item for item in decode(chunk.message.payload)] == [Record(sts, "log_file")]
    assert prefilter(Message(json.dumps(noise).encode(), "f.json:1")) == prefilter(
        Message(json.dumps(noise).encode(), "f.json:1")
    )
    assert prefilter(Message(json.dumps(noise).encode(), "x")).message is None


def test_role_and_organization_changes_pass_the_prefilter() -> None:
    change = {"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy"}
    assert keep(change)
    assert keep({"eventSource": "organizations.amazonaws.com", "eventName": "LeaveOrganization"})
    assert not keep({"eventSource": "s3.amazonaws.com", "eventName": "GetObject"})


def _lines_file(path: Path) -> bytes:
    """JSON-lines text with what splitting must survive: blank and whitespace lines, long and
    short lines, CRLF, garbage, and a last line without its newline."""
    rng = random.Random(7)
    lines = []
    for number in range(3000):
        lines.append(json.dumps({"n": number, "pad": "x" * rng.randrange(0, 400)}).encode())
        if number % 97 == 0:
            lines.append(b"   " if number % 2 else b"")
        if number % 501 == 0:
            lines.append(b'{"cut": \r')
    data = b"\n".join(lines) + b'\n{"last": true}'
    path.write_bytes(data)
    return data


def test_parts_of_a_file_are_its_lines_numbered_as_in_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    data = _lines_file(path)
    whole = list(split_messages(path.name, data, str(path)))
    for size in (1, 100, 4096, 65536, len(data) - 1, len(data), len(data) + 1):
        pieces = parts(path, size)
        assert pieces[0] == path or getattr(pieces[0], "start", None) == 0
        messages, before = [], 0
        for piece in pieces:
            if not isinstance(piece, Part):
                messages = list(split_messages(path.name, data, str(path)))
                continue
            assert piece.start == 0 or data[piece.start - 1 : piece.start] == b"\n"
            found, newlines = read_part(piece)
            for message in found:
                messages.append(Message(message.payload, str(path), before + message.line))
            before += newlines
        assert messages == whole, size
    assert len(parts(path, 65536)) > 5
    assert parts(tmp_path / "x.jsonl.gz", 1) == [tmp_path / "x.jsonl.gz"]  # gzip: whole
    assert parts(CORPUS, 1) == [CORPUS]  # not a file


#: Three dead letters: a record that does not normalise, garbage, a record cut short.
BROKEN = (
    b'{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "eventTime": "nope"}\n'
    b'\x00garbage\n{"eventVersion": "1.08",\n'
)


def _workload(tmp_path: Path) -> tuple[Path, Path]:
    """A few days of the growing organisation, its attacks, dead letters, in ONE file."""
    from bench import growing
    from bench.attacks import growing_attacks
    from bench.growing_org import Shape

    shape = Shape(accounts=10, days=3)
    config, _, days = growing.write(tmp_path / "org", shape)
    attacks = growing_attacks(growing.Workload(shape).org)
    stream = tmp_path / "all.jsonl"
    with stream.open("wb") as out:
        for day in days:
            out.write(day.read_bytes())
            out.write(BROKEN)
        out.write(b"".join(json.dumps(r).encode() + b"\n" for a in attacks for r in a.records))
    return config, stream


def _feed(config: Path, stream: Path, jobs: int, out: Path) -> tuple[bytes, bytes, str]:
    from monitor.commands.replay import feed
    from monitor.config.settings import load_settings
    from monitor.service.app import build_monitor
    from monitor.sinks.delivery import Delivery
    from monitor.sinks.jsonl import JsonLinesSink

    monitor = build_monitor(load_settings(str(config)), state_path=":memory:")
    sink = JsonLinesSink(str(out / f"findings-{jobs}.jsonl"))
    try:
        delivery = Delivery([sink], monitor.state, monitor.metrics)
        feed(monitor, [stream], delivery, str(out / f"dead-{jobs}.jsonl"), jobs)
    finally:
        sink.close()
        monitor.close()
    stats = monitor.pipeline.stats
    counts = repr((stats.records, stats.kinds, stats.rejected, stats.findings))
    found = (out / f"findings-{jobs}.jsonl").read_bytes()
    return found, (out / f"dead-{jobs}.jsonl").read_bytes(), counts


def test_one_large_file_in_parts_gives_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Findings, dead letters (with their line numbers) and counts, byte for byte, when a
    generated workload in one JSON-lines file is read in parts by two workers."""
    config, stream = _workload(tmp_path)
    monkeypatch.setattr(replay_feed, "PART_BYTES", stream.stat().st_size // 7)
    one = _feed(config, stream, 1, tmp_path)
    two = _feed(config, stream, 2, tmp_path)
    assert len(one[0].splitlines()) >= 5, "the attacks fire"
    assert one[1].count(b"\n") == 9, "three dead letters a day"
    assert one == two
    assert len(parts(stream, replay_feed.PART_BYTES)) >= 7


def test_workers_normalise_and_leave_what_does_not_normalise_to_the_pipeline() -> None:
    sts = json.loads((CORPUS / "cloud-snitch/TestReport_AWSAccountEvent.json").read_text())
    chunk = prefilter(Message(json.dumps(sts).encode(), "f.jsonl:1"))
    assert chunk.events is not None and chunk.events[0] is not None
    assert chunk.events[0].event_id == sts["eventID"]
    broken = {**sts, "eventTime": "not a time"}
    chunk = prefilter(Message(json.dumps({"Records": [sts, broken]}).encode(), "f.json"))
    assert chunk.message is not None and chunk.events is None  # the pipeline rejects it
