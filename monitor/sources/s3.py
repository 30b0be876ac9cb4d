"""CloudTrail log objects in S3 (``s3://bucket/prefix``) as sources for ``replay`` and ``learn``.

CloudTrail delivers to ``[prefix/]AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/YYYY/MM/DD/``.
Listing walks down to each region folder and, when ``since``/``until`` bound the dates, lists
only the day folders in range, so a year-long bucket is not listed whole for one week. Digest
files (``CloudTrail-Digest/``), Insights and anything not a CloudTrail log object are skipped.
Objects come back ordered by delivery time (then key), so accounts and regions interleave as
the events did. boto3 is imported on first use: a local replay never pays for it.

The client honours the ``s3`` section of the configuration (endpoint, region, concurrency,
retries) and otherwise boto3's own settings (``AWS_ENDPOINT_URL_S3``, credentials chain).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.config.settings import ConfigError

_REGION_ROOT = re.compile(r"(^|/)CloudTrail/[a-z0-9-]+/$")
_UNDER_REGION = re.compile(r"(^|/)CloudTrail/[a-z0-9-]+/")
_KEY_DATE = re.compile(r"/CloudTrail/[a-z0-9-]+/(\d{4})/(\d{2})/(\d{2})/")
_LOG_NAME = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_[^/]*\.json(\.gz)?$")
_SKIPPED_FOLDERS = ("CloudTrail-Digest/", "CloudTrail-Insight/")
_ERRORS = {
    "NoSuchBucket": "no such bucket",
    "AccessDenied": "access denied",
    "AllAccessDisabled": "access denied",
    "InvalidAccessKeyId": "invalid AWS credentials",
    "SignatureDoesNotMatch": "invalid AWS credentials",
}


@dataclass(frozen=True, slots=True)
class S3Options:
    """How to reach S3 (the ``s3`` configuration section); travels with each object to the
    worker process that reads it."""

    endpoint_url: str | None = None
    region: str | None = None
    max_concurrency: int = 8
    max_attempts: int = 8


DEFAULT_OPTIONS = S3Options()


@dataclass(frozen=True, slots=True, order=True)
class S3Object:
    """One log object; ordered by delivery time, then key."""

    delivered: str
    bucket: str
    key: str
    options: S3Options = field(default=DEFAULT_OPTIONS, compare=False)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_s3(name: str) -> bool:
    return name.startswith("s3://")


def list_logs(
    url: str,
    since: date | None = None,
    until: date | None = None,
    options: S3Options = DEFAULT_OPTIONS,
) -> list[S3Object]:
    """Every CloudTrail log object under ``url`` delivered on a day in ``[since, until]``.

    Raises ConfigError (one line) for a missing bucket or denied access.
    """
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{url}: no bucket named (expected s3://bucket/prefix)")
    client = s3_client(options)
    try:
        leaves = list(_leaf_prefixes(client, bucket, prefix, since, until))
        with ThreadPoolExecutor(options.max_concurrency) as pool:
            pages = pool.map(lambda leaf: list(_objects(client, bucket, *leaf)), leaves)
            keys = {key for page in pages for key in page}
    except Exception as exc:
        raise _one_line(exc, url) from exc
    found = [
        S3Object(_delivered(key), bucket, key, options)
        for key in keys
        if _wanted(key, since, until)
    ]
    return sorted(found)


def read_object(obj: S3Object) -> bytes:
    """The object's bytes (retried by botocore); one client per process."""
    try:
        body = s3_client(obj.options).get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
        return bytes(body.read())
    except Exception as exc:
        raise _one_line(exc, str(obj)) from exc


_clients: dict[tuple[int, S3Options], Any] = {}


def s3_client(options: S3Options) -> Any:
    """A client for this process (worker processes must not share a forked one)."""
    ident = (os.getpid(), options)
    if ident not in _clients:
        import boto3
        from botocore.config import Config

        config = Config(
            retries={"mode": "adaptive", "total_max_attempts": options.max_attempts},
            max_pool_connections=options.max_concurrency,
        )
        _clients[ident] = boto3.client(
            "s3", endpoint_url=options.endpoint_url, region_name=options.region, config=config
        )
    return _clients[ident]


def _leaf_prefixes(
    client: Any, bucket: str, prefix: str, since: date | None, until: date | None
) -> Iterator[tuple[str, bool]]:
    """``(prefix, shallow)`` to list: day folders in range under each region folder, whole
    folders below a region, or (shallow) the objects directly in a folder walked through."""
    if _REGION_ROOT.search(prefix) and since is not None:
        for day in _days(since, until or date.today()):
            yield f"{prefix}{day:%Y/%m/%d}/", False
        return
    if _UNDER_REGION.search(prefix) or (prefix and not prefix.endswith("/")):
        yield prefix, False  # already below the region folder, or a partial name: list it whole
        return
    folders, has_objects = _children(client, bucket, prefix)
    if has_objects:
        yield prefix, True
    for folder in folders:
        if not folder.endswith(_SKIPPED_FOLDERS):
            yield from _leaf_prefixes(client, bucket, folder, since, until)


def _children(client: Any, bucket: str, prefix: str) -> tuple[list[str], bool]:
    folders: list[str] = []
    has_objects = False
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        folders.extend(entry["Prefix"] for entry in page.get("CommonPrefixes", ()))
        has_objects = has_objects or bool(page.get("Contents"))
    return folders, has_objects


def _objects(client: Any, bucket: str, prefix: str, shallow: bool) -> Iterator[str]:
    paginator = client.get_paginator("list_objects_v2")
    # A folder walked through is listed for its own objects only: its folders are walked too.
    delimiter = {"Delimiter": "/"} if shallow else {}
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, **delimiter):
        for entry in page.get("Contents", ()):
            yield str(entry["Key"])


def skip_reason(key: str) -> str | None:
    """Why the object at ``key`` is not a CloudTrail log to read (``digest``, ``insight``,
    ``not_cloudtrail``), or None when it is one (the forwarder's filter; listing uses it too)."""
    if "CloudTrail-Digest/" in key:
        return "digest"
    if "CloudTrail-Insight/" in key:
        return "insight"
    return None if _LOG_NAME.search(key) else "not_cloudtrail"


def _wanted(key: str, since: date | None, until: date | None) -> bool:
    if "/CloudTrail-Digest/" in key or "/CloudTrail-Insight/" in key:
        return False
    if not _LOG_NAME.search(key):
        return False
    if since is None and until is None:
        return True
    found = _KEY_DATE.search(key)
    if found is None:
        return False
    day = date(int(found[1]), int(found[2]), int(found[3]))
    return (since is None or day >= since) and (until is None or day <= until)


def _delivered(key: str) -> str:
    found = _LOG_NAME.search(key)
    return found[1] if found else ""


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def _one_line(exc: Exception, where: str) -> Exception:
    """A ConfigError naming the URL for what a user must fix; anything else as it came."""
    code = _code(exc)
    if code in _ERRORS:
        return ConfigError(f"{where}: {_ERRORS[code]} ({code})")
    if type(exc).__name__ in ("NoCredentialsError", "EndpointConnectionError"):
        return ConfigError(f"{where}: {exc}")
    return exc


def _code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "") or None
    return None
