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
