"""boto3 plumbing for the live catalog: client settings, per-account sessions, error kinds.

Why a module of its own: the IAM source should read as cache logic, not as credential juggling.
Every client honours an ``endpoint_url`` (moto, VPC endpoints, LocalStack) and shares one retry
policy: botocore's adaptive mode, which backs off *and* slows the client's sending rate when AWS
throttles, so a burst of cache misses cannot keep an account's IAM quota exhausted.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from monitor.config.settings import IamConfig

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch (``time.time``); injectable so TTL tests need no sleeps."""

#: Assumed-role credentials are renewed this long before they expire.
REFRESH_MARGIN_S = 300.0
SESSION_NAME = "role-usage-monitor"
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
    }
)


def client_config(timeout: timedelta, max_attempts: int, pool_size: int) -> Config:
    """Adaptive retries, bounded connect/read timeouts, a connection pool per concurrency."""
    seconds = max(timeout.total_seconds(), 0.1)
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": max_attempts},
        connect_timeout=seconds,
        read_timeout=seconds,
        max_pool_connections=max(pool_size, 1),
    )


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ClientError (``NoSuchEntity``, ``Throttling``), else None."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def failure_kind(exc: BaseException) -> str:
    """``throttled`` when AWS kept throttling past the retries, else ``error`` (a metric label)."""
    return "throttled" if error_code(exc) in THROTTLING_CODES else "error"


AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
"""What a boto3 call raises for AWS answers and for transport failures alike."""


@dataclass
class _Assumed:
    client: Any
    expires: float


class AccountSessions:
    """An IAM client per account, on credentials of the read role assumed in that account.

    Credentials are cached and renewed ``REFRESH_MARGIN_S`` before they expire, so a long-running
    monitor calls STS about once an hour per account, not once per lookup. An empty ``read_role``
    means "use the monitor's own credentials" (a single-account deployment).
    """

    def __init__(
        self, config: IamConfig, clock: Clock, session: boto3.Session | None = None
    ) -> None:
        self._config = config
        self._clock = clock
        self._session = session
        self._botocore = client_config(config.timeout, config.max_attempts, config.max_concurrency)
        self._assumed: dict[str, _Assumed] = {}
        self._account_locks: dict[str, threading.Lock] = {}
        # boto3 sessions are not thread-safe: client creation is serialised on this lock.
        self._lock = threading.Lock()
        self._sts: Any = None

    def iam(self, account: str) -> Any:
        """The IAM client for ``account``, assuming the read role when needed (may raise)."""
        with self._account_lock(account):
            cached = self._assumed.get(account)
            if cached is not None and cached.expires - REFRESH_MARGIN_S > self._clock():
                return cached.client
            assumed = self._assume(account)
            self._assumed[account] = assumed
            return assumed.client

    def forget(self, account: str) -> None:
        """Drop an account's credentials (after AccessDenied they may be the problem)."""
        self._assumed.pop(account, None)

    def _account_lock(self, account: str) -> threading.Lock:
        with self._lock:
            return self._account_locks.setdefault(account, threading.Lock())

    def _assume(self, account: str) -> _Assumed:
        if not self._config.read_role:
            return _Assumed(self._client("iam"), math.inf)
        role_arn = self._config.read_role.format(account=account)
        credentials = self._sts_client().assume_role(
            RoleArn=role_arn, RoleSessionName=SESSION_NAME
        )["Credentials"]
        client = self._client(
            "iam",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        return _Assumed(client, credentials["Expiration"].timestamp())

    def _sts_client(self) -> Any:
        if self._sts is None:
            endpoint = self._config.sts_endpoint_url or self._config.endpoint_url
            self._sts = self._client("sts", endpoint_url=endpoint)
        return self._sts

    def _client(self, service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self._config.endpoint_url)
        with self._lock:
            if self._session is None:
                self._session = boto3.Session()
            return self._session.client(
                service, region_name=self._config.region, config=self._botocore, **kwargs
            )
