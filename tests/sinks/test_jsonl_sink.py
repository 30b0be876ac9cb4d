"""The JSON-lines file deduplicates itself across a crash: what it wrote just before a kill, and
is sent again from the outbox at restart, is not written twice; a torn last line is cut off."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugins.sample_findings import make_finding

from monitor.findings import Finding
from monitor.sinks.base import SinkError
from monitor.sinks.jsonl import BATCH, JsonLinesSink


def lines(path: Path) -> list[Finding]:
    return [Finding.model_validate_json(line) for line in path.read_bytes().splitlines()]


def test_a_chunk_resent_after_a_crash_is_written_once(tmp_path: Path) -> None:
    path = tmp_path / "findings.jsonl"
    chunk = [make_finding(assumption_id=f"a{n}") for n in range(3)]
    before = JsonLinesSink(str(path))
    before.send(chunk[:2])
    before.flush()  # taken, then the process dies before the outbox drops the rows
    after = JsonLinesSink(str(path))
    after.send(chunk)  # the outbox sends the whole chunk again
    after.flush()
    assert [f.finding_id for f in lines(path)] == [f.finding_id for f in chunk]
    assert after.batch == BATCH


def test_a_chunk_that_failed_half_way_is_written_once_when_sent_again(tmp_path: Path) -> None:
    """A full disk in the middle of a chunk: the outbox sends the whole chunk again, in the
    same process; the lines already written are not written twice."""
    path = tmp_path / "findings.jsonl"
    chunk = [make_finding(assumption_id=f"a{n}") for n in range(4)]
    sink = JsonLinesSink(str(path))
    real_write = sink._write
    calls = 0

    def disk_full_at_the_third(line: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise SinkError("cannot write: No space left on device")
        real_write(line)

    sink._write = disk_full_at_the_third  # type: ignore[method-assign]
    with pytest.raises(SinkError):
        sink.send(chunk)
    sink.send(chunk)  # space is back; the outbox resends the chunk whole
    sink.flush()
    assert [f.finding_id for f in lines(path)] == [f.finding_id for f in chunk]


def test_a_line_torn_by_a_crash_is_cut_off_and_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "findings.jsonl"
    first, torn = make_finding(assumption_id="a1"), make_finding(assumption_id="a2")
    path.write_bytes(first.to_json() + b"\n" + torn.to_json()[:40])
    sink = JsonLinesSink(str(path))
    sink.send([first, torn])
    sink.flush()
    assert [f.finding_id for f in lines(path)] == [first.finding_id, torn.finding_id]


def test_lines_written_before_finding_id_existed_are_recognised(tmp_path: Path) -> None:
    path = tmp_path / "findings.jsonl"
    finding = make_finding()
    old = finding.model_dump(mode="json")
    del old["finding_id"]
    import orjson

    path.write_bytes(orjson.dumps(old) + b"\n")
    sink = JsonLinesSink(str(path))
    sink.send([finding])
    assert len(path.read_bytes().splitlines()) == 1


def test_stdout_takes_one_finding_at_a_time() -> None:
    assert JsonLinesSink("-").batch == 1
