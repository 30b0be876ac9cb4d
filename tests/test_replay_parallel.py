"""``replay --jobs``: reading in worker processes changes nothing a user sees."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import CORPUS, REPO

from monitor.intake.envelopes import Record, decode
from monitor.service.replay_feed import keep, prefilter
from monitor.sources.files import Message

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
