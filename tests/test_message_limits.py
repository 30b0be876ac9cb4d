"""One message cannot take the memory of the pod (issue 12, point 7).

A 260 KB gzip expanding to 255 MiB (the issue's case) used to peak at 641 MB of RSS, enough for
a memory-limited pod to be OOM-killed and re-read the same offset forever. Now decompression
stops at ``limits.max_decompressed_bytes`` and the message is dead-lettered as ``too_large``,
naming the setting. Measured in a child process, whose peak RSS is its own.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO

CHILD = """
import json, sys
from monitor.service.app import build_monitor
from monitor.config.settings import Settings
settings = Settings(limits={"max_decompressed_bytes": int(sys.argv[2])})
monitor = build_monitor(settings, state_path=":memory:")
result = monitor.pipeline.process(open(sys.argv[1], "rb").read())
print(json.dumps({
    "reasons": [r.reason for r in result.rejections],
    "details": [r.detail for r in result.rejections],
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's size across exec.
    "peak_mib": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
}))
"""


def process_in_child(message: Path, limit: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(message), str(limit)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_decompression_bomb_is_a_bounded_dead_letter(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as out:  # streamed: the test stays small too
        for _ in range(255):
            out.write(b"QUFB" * (1024 * 1024 // 4))
    assert bomb.stat().st_size < 300 * 1024
    result = process_in_child(bomb, 16 * 1024 * 1024)
    assert result["reasons"] == ["too_large"]
    assert "limits.max_decompressed_bytes" in result["details"][0]
    assert result["peak_mib"] < 200, f"peak RSS {result['peak_mib']:.0f} MiB"


def empty_lists(count: int) -> bytes:
    """``{"Records":[[],[],…]}`` gzip'd, streamed: the issue's amplification payloads."""
    import io

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
        out.write(b'{"Records":[[]')
        whole, rest = divmod(count - 1, 100_000)
        for _ in range(whole):
            out.write(b",[]" * 100_000)
        out.write(b",[]" * rest + b"]}")
    return buffer.getvalue()


def test_64_kb_of_empty_lists_is_rejected_whole_unparsed(tmp_path: Path) -> None:
    """Issue 21, point 1: 64 KB of gzip, 63 MiB unpacked (under max_decompressed_bytes), 22
    million empty lists: before, a 4,858 MB peak for 121 s and 22 million rejections; now
    one ``too_many_elements`` rejection, decided from the bytes before any parsing."""
    bomb = tmp_path / "lists.gz"
    bomb.write_bytes(empty_lists(22_000_000))
    assert bomb.stat().st_size < 80 * 1024
    result = process_in_child(bomb, 64 * 1024 * 1024)
    assert result["reasons"] == ["too_many_elements"]
    assert "limits.max_elements" in result["details"][0]
    print(f"peak RSS {result['peak_mib']:.0f} MiB")
    assert result["peak_mib"] < 300, f"peak RSS {result['peak_mib']:.0f} MiB"


def test_346_bytes_of_100k_empty_lists_is_one_rejection(tmp_path: Path) -> None:
    """Issue 21, point 1: 100k empty lists (under every limit) used to be 100k rejections
    (78,276 dead letters in 9 s, each the whole message); now one: over
    ``limits.max_records_per_message`` it is refused whole, under it the entries that are not
    records are one rejection saying how many."""
    small = tmp_path / "small.gz"
    small.write_bytes(empty_lists(100_000))
    assert small.stat().st_size < 1024
    result = process_in_child(small, 64 * 1024 * 1024)
    assert result["reasons"] == ["too_many_records"]
    assert "limits.max_records_per_message" in result["details"][0]
    print(f"peak RSS {result['peak_mib']:.0f} MiB")
    assert result["peak_mib"] < 300, f"peak RSS {result['peak_mib']:.0f} MiB"
    under = tmp_path / "under.gz"
    under.write_bytes(empty_lists(40_000))
    result = process_in_child(under, 64 * 1024 * 1024)
    assert result["reasons"] == ["not_an_object"]
    assert result["details"][0].startswith("40000 log_file entries rejected")
