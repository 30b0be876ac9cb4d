"""``replay s3://bucket/prefix``: CloudTrail's S3 layout read through a real moto server."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import REPO

from monitor.config.settings import ConfigError
from monitor.intake.envelopes import Record, decode
from monitor.sources.s3 import _one_line

pytestmark = pytest.mark.aws

EXAMPLES = REPO / "examples"
ORG_ID = "o-exampleorg"
ACCOUNTS = ("111111111111", "222222222222")


def _env(url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        ROLE_MONITOR_S3__ENDPOINT_URL=url,  # the s3 section of the configuration
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


def replay(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "monitor.cli", "replay", "--config",
               str(EXAMPLES / "config.yaml"), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, timeout=300, cwd=REPO, env=_env(url))


def _sample_records() -> list[dict[str, Any]]:
    return [
        item.data
        for path in sorted((EXAMPLES / "stream").glob("*.json.gz"))
        for item in decode(path.read_bytes())
        if isinstance(item, Record)
    ]


def _log(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


def _upload(url: str, bucket: str, org: bool, local: Path) -> None:
    """The sample as CloudTrail would deliver it over two days and two accounts; the same
    objects, named so their path order is their delivery order, into ``local``."""
    s3 = boto3.client("s3", **{k.lower(): v for k, v in _creds().items()}, endpoint_url=url)
    s3.create_bucket(Bucket=bucket)
    records = _sample_records()
    root = f"AWSLogs/{ORG_ID}/" if org else "AWSLogs/"
    for number, day in enumerate(("01", "02", "03")):
        for index, account in enumerate(ACCOUNTS):
            part = records[number * 2 + index :: 6]
            stamp = f"202611{day}T{9 + index:02d}00Z"
            name = f"{account}_CloudTrail_us-east-1_{stamp}_abc{number}.json.gz"
            key = f"{root}{account}/CloudTrail/us-east-1/2026/11/{day}/{name}"
            s3.put_object(Bucket=bucket, Key=key, Body=_log(part))
            if day != "03":  # the local copy holds what --until 2026-11-02 reads
                (local / f"{stamp}-{account}.json.gz").write_bytes(_log(part))
    digest = (
        f"{root}{ACCOUNTS[0]}/CloudTrail-Digest/us-east-1/2026/11/01/"
        f"{ACCOUNTS[0]}_CloudTrail-Digest_us-east-1_x_20261101T0900Z.json.gz"
    )
    s3.put_object(Bucket=bucket, Key=digest, Body=b"{not a log}")
    s3.put_object(Bucket=bucket, Key=f"{root}{ACCOUNTS[0]}/notes.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key=f"{root}{ACCOUNTS[1]}/Config/us-east-1/config.json.gz",
                  Body=b"not cloudtrail")  # fmt: skip


def _creds() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "REGION_NAME": "us-east-1"}  # fmt: skip


@pytest.mark.parametrize("org", [True, False], ids=["org-trail", "account-trail"])
def test_s3_prefix_replays_like_the_same_files_on_disk(
    moto_server: str, tmp_path: Path, org: bool
) -> None:
    bucket = f"trail-{'org' if org else 'acct'}"
    local = tmp_path / "local"
    local.mkdir()
    _upload(moto_server, bucket, org, local)
    window = ("--since", "2026-11-01", "--until", "2026-11-02")
    from_s3 = replay(moto_server, *window, "--jobs", "2", f"s3://{bucket}/AWSLogs/")
    from_disk = replay(moto_server, "--jobs", "1", str(local))
    assert from_s3.returncode == 0, from_s3.stderr
    assert from_disk.returncode == 0, from_disk.stderr
    assert from_s3.stdout and from_s3.stdout == from_disk.stdout
    assert "rejected: 0" in from_s3.stderr.decode()  # digest and non-CloudTrail objects skipped
    everything = replay(moto_server, f"s3://{bucket}")
    assert _processed(everything) > _processed(from_s3) > 0  # day 3 is outside the window


def _processed(result: subprocess.CompletedProcess[bytes]) -> int:
    line = next(line for line in result.stderr.decode().splitlines() if "processed:" in line)
    return int(line.split(":", 1)[1].split()[0])


def test_missing_bucket_is_a_one_line_error(moto_server: str) -> None:
    result = replay(moto_server, "s3://no-such-bucket-here/AWSLogs/")
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "s3://no-such-bucket-here/AWSLogs/: no such bucket" in lines[0]


def test_access_denied_names_the_url() -> None:
    # moto serves every request (no IAM enforcement), so S3's answer is built here.
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")
    error = _one_line(denied, "s3://b/p")
    assert isinstance(error, ConfigError)
    assert str(error) == "s3://b/p: access denied (AccessDenied)"
