"""``role-monitor replay``: the command-line contract (output, summary, exit codes)."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import CORPUS, REPO, corpus_record

EXAMPLES = REPO / "examples"


def replay(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "monitor.cli", "replay", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=120, cwd=REPO)


def test_bundled_sample_gives_the_expected_findings() -> None:
    result = replay("--config", str(EXAMPLES / "config.yaml"), str(EXAMPLES / "stream"))
    assert result.returncode == 0, result.stderr
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    detectors = sorted(f["detector"] for f in findings)
    for expected in (
        "break_glass_assumed",
        "break_glass_denied",
        "external_account",
        "federation_subject_not_allowed",
    ):
        assert expected in detectors
    required = {
        "detector", "severity", "title", "event_id", "event_time", "event_name", "role_arn",
        "role_account", "principal", "principal_account", "source_ip", "user_agent",
        "dedup_key", "evidence",
    }  # fmt: skip
    assert all(required <= set(f) for f in findings)
    break_glass = next(f for f in findings if f["detector"] == "break_glass_assumed")
    assert break_glass["severity"] == "critical"
    assert break_glass["evidence"]["mfa_used"] is False
    assert break_glass["event_time"] == "2026-11-01T09:15:00Z"
    summary = result.stderr.decode()
    assert "rejected: 1 (invalid_json 1)" in summary
    assert "skipped as out of scope: 12" in summary


def _mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    shutil.copytree(CORPUS, folder / "corpus")
    shutil.copytree(EXAMPLES / "stream", folder / "sample")
    record = corpus_record("cloud-snitch/TestReport_WebIdentityUserEvent.json")
    bridge = {"detail-type": "AWS API Call via CloudTrail", "source": "aws.sts", "detail": record}
    (folder / "bridge.json").write_text(json.dumps(bridge))
    cwl = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": json.dumps(record)}]}
    (folder / "cwl.json").write_bytes(base64.b64encode(gzip.compress(json.dumps(cwl).encode())))
    (folder / "truncated.json.gz").write_bytes(gzip.compress(b'{"Records": []}')[:10])
    (folder / "garbage.jsonl").write_bytes(b'{"a":\n\x00\x01\n42\n')
    return folder


def test_mixed_folder_is_processed_and_byte_identical_across_runs(tmp_path: Path) -> None:
    folder = _mixed_folder(tmp_path)
    config = str(EXAMPLES / "config.yaml")
    first = replay("--config", config, "--dead-letter", str(tmp_path / "dl1"), str(folder))
    second = replay("--config", config, "--dead-letter", str(tmp_path / "dl2"), str(folder))
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert first.stdout and first.stdout == second.stdout
    letters = [json.loads(line) for line in (tmp_path / "dl1").read_text().splitlines()]
    reasons = sorted({letter["reason"] for letter in letters})
    assert reasons == ["invalid_gzip", "invalid_json", "unknown_envelope"]
    assert all(letter["origin"] and letter["detail"] for letter in letters)
    assert (tmp_path / "dl1").read_bytes() == (tmp_path / "dl2").read_bytes()


def test_stdin_is_a_source() -> None:
    record = (CORPUS / "cloud-snitch/TestReport_AWSAccountEvent.json").read_bytes()
    result = replay("-", stdin=record)
    assert result.returncode == 0
    detectors = {json.loads(line)["detector"] for line in result.stdout.splitlines()}
    assert "external_account" in detectors


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("kafka: [unclosed", "invalid YAML"),
        ("detectors: {no_such_detector: {}}", "unknown detector id 'no_such_detector'"),
        ("kafka: {bootstrap: x}", "kafka.bootstrap: unknown key"),
        ("state: {retention: soon}", "state.retention"),
        ("inventory: {authorization_details: [missing.json]}", "cannot read authorization"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(
    tmp_path: Path, config: str, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    result = replay("--config", str(path), str(CORPUS / "cloud-snitch"))
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_usage_errors_exit_2() -> None:
    assert replay("/no/such/path").returncode == 2
    assert replay("--config", "/no/such/config.yaml", str(CORPUS)).returncode == 2
    assert replay().returncode == 2


def test_pretty_output_for_people() -> None:
    result = replay(
        "--config", str(EXAMPLES / "config.yaml"), "--format", "pretty", str(EXAMPLES / "stream")
    )
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "CRITICAL break_glass_assumed" in text
    assert "who:   arn:aws:iam::111111111111:user/bob" in text
