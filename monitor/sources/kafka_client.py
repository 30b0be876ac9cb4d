"""The ``kafka`` config section → keyword arguments for kafka-python clients.

This is the only place where Kafka secrets leave their ``SecretStr``: the options built here go
straight into a client constructor and are never logged (log
:func:`monitor.service.logs.effective_config` instead).

Authentication:

- TLS: ``security_protocol: SSL`` (or ``SASL_SSL``) with optional CA, client certificate and key.
- ``PLAIN`` / ``SCRAM-SHA-256`` / ``SCRAM-SHA-512``: ``sasl_username`` + ``sasl_password``.
- ``AWS_MSK_IAM`` and ``OAUTHBEARER``: Amazon MSK IAM access control. Both are sent as SASL
  OAUTHBEARER with a SigV4-presigned ``kafka-cluster:Connect`` token, the scheme of AWS's own
  ``aws-msk-iam-sasl-signer`` libraries. Why not kafka-python's built-in ``AWS_MSK_IAM``: it
  takes the region only from the AWS environment, so ``kafka.aws_region`` could not apply.
  Credentials come from the default botocore chain (environment, profile, instance role).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka.net.sasl.oauth import AbstractTokenProvider

from monitor import __version__
from monitor.config.settings import ConfigError, KafkaConfig

MSK_SIGNING_NAME = "kafka-cluster"
MSK_ACTION = "kafka-cluster:Connect"
MSK_TOKEN_TTL_S = 900
_MSK_MECHANISMS = ("AWS_MSK_IAM", "OAUTHBEARER")
RECONNECT_BACKOFF_MAX_MS = 2000
BOOTSTRAP_TIMEOUT_MS = 5000
PRODUCER_MAX_BLOCK_MS = 2000

Resolve = Callable[[Path], Path]


def client_options(kafka: KafkaConfig, resolve: Resolve | None = None) -> dict[str, Any]:
    """Connection and security options shared by consumers, producers and admin clients.

    ``resolve`` turns relative certificate paths into absolute ones (the config file's folder).
    Raises :class:`ConfigError` for combinations that cannot work, before any connection.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": list(kafka.bootstrap_servers),
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
        # A broker that comes back is found within seconds, not kafka-python's default 30 s.
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
        # Startup retries on its own schedule and must stay responsive to SIGTERM.
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options.update(_tls_options(kafka, resolve or (lambda path: path)))
    if kafka.security_protocol.startswith("SASL"):
        options.update(_sasl_options(kafka))
    elif kafka.sasl_mechanism is not None:
        raise ConfigError(
            f"kafka.sasl_mechanism {kafka.sasl_mechanism} needs security_protocol SASL_SSL "
            "(or SASL_PLAINTEXT)"
        )
    return options


def consumer_options(kafka: KafkaConfig, resolve: Resolve | None = None) -> dict[str, Any]:
    """A group consumer that commits only when told to (after delivery)."""
    session_ms = int(kafka.session_timeout.total_seconds() * 1000)
    return {
        **client_options(kafka, resolve),
        "group_id": kafka.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": kafka.auto_offset_reset,
        "max_poll_records": kafka.max_poll_records,
        # kafka-python 3 heartbeats from its IO thread, so a slow batch cannot expire the
        # session; a short one means a crashed instance's partitions move on in seconds
        # (Kafka's 45 s default would stall them for most of a minute).
        "session_timeout_ms": session_ms,
        "heartbeat_interval_ms": max(session_ms // 3, 100),
        **({"group_instance_id": kafka.group_instance_id} if kafka.group_instance_id else {}),
        # Raw bytes: the pipeline decodes every envelope itself.
        "key_deserializer": None,
        "value_deserializer": None,
    }


def producer_options(kafka: KafkaConfig, resolve: Resolve | None = None) -> dict[str, Any]:
    """A producer whose acknowledged sends survive a broker failover (dead letters, backfill)."""
    return {
        **client_options(kafka, resolve),
        "acks": "all",
        "linger_ms": 20,
        # send() must not hang a checkpoint for a minute while the broker is away.
        "max_block_ms": PRODUCER_MAX_BLOCK_MS,
    }


def _tls_options(kafka: KafkaConfig, resolve: Resolve) -> dict[str, Any]:
    options: dict[str, Any] = {"ssl_check_hostname": kafka.ssl_check_hostname}
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path: Path | None = getattr(kafka, key)
        if path is not None:
            options[key] = str(resolve(path))
    if kafka.ssl_password is not None:
        options["ssl_password"] = kafka.ssl_password.get_secret_value()
    return options


def _sasl_options(kafka: KafkaConfig) -> dict[str, Any]:
    mechanism = kafka.sasl_mechanism
    if mechanism is None:
        raise ConfigError(f"kafka.security_protocol {kafka.security_protocol} needs sasl_mechanism")
    if mechanism in _MSK_MECHANISMS:
        if kafka.security_protocol != "SASL_SSL":
            raise ConfigError(f"kafka.sasl_mechanism {mechanism} (MSK IAM) needs SASL_SSL")
        return {
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": MskIamTokenProvider(kafka.aws_region),
        }
    if not kafka.sasl_username or kafka.sasl_password is None:
        raise ConfigError(f"kafka.sasl_mechanism {mechanism} needs sasl_username and sasl_password")
    return {
        "sasl_mechanism": mechanism,
        "sasl_plain_username": kafka.sasl_username,
        "sasl_plain_password": kafka.sasl_password.get_secret_value(),
    }


class MskIamTokenProvider(AbstractTokenProvider):
    """Amazon MSK IAM tokens for SASL/OAUTHBEARER: a presigned ``kafka-cluster:Connect`` URL.

    A token is valid for 15 minutes and reused for 10, so reconnect storms do not hammer the
    credential chain (the provider runs on kafka-python's IO thread).
    """

    def __init__(self, region: str | None = None, session: Any = None) -> None:
        self._region = region
        self._session = session
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._token is None or now >= self._expires:
                self._token = self._sign()
                self._expires = now + MSK_TOKEN_TTL_S * 2 / 3
            return self._token

    def _sign(self) -> str:
        from botocore.auth import SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.session import Session

        session = self._session or Session()
        region = self._region or session.get_config_variable("region")
        if not region:
            raise ConfigError("MSK IAM authentication needs kafka.aws_region (or AWS_REGION)")
        credentials = session.get_credentials()
        if credentials is None:
            raise ConfigError("MSK IAM authentication found no AWS credentials")
        request = AWSRequest(
            method="GET",
            url=f"https://kafka.{region}.amazonaws.com/",
            params={"Action": MSK_ACTION},
        )
        SigV4QueryAuth(credentials, MSK_SIGNING_NAME, region, expires=MSK_TOKEN_TTL_S).add_auth(
            request
        )
        url = f"{request.url}&User-Agent=role-usage-monitor/{__version__}"
        return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
