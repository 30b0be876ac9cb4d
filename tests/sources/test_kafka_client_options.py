"""The ``kafka`` config section → kafka-python options: TLS, SASL, MSK IAM, secrets.

Why: a typo here surfaces only against a production cluster (TLS, SCRAM, MSK IAM are not in the
test broker), so the mapping is pinned down key by key, and every option must be one that
kafka-python accepts (it rejects unknown keys at construction).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from botocore.session import Session
from kafka import KafkaConsumer, KafkaProducer

from monitor.config.settings import ConfigError, KafkaConfig
from monitor.sources.kafka_client import (
    MskIamTokenProvider,
    client_options,
    consumer_options,
    producer_options,
)


def kafka(**values: Any) -> KafkaConfig:
    return KafkaConfig(**values)


def test_plaintext_defaults() -> None:
    options = consumer_options(kafka(bootstrap_servers="b1:9092,b2:9092", group_id="g"))
    assert options["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert options["security_protocol"] == "PLAINTEXT"
    assert options["group_id"] == "g"
    assert options["enable_auto_commit"] is False, "offsets are committed after delivery only"
    assert not any(key.startswith(("ssl_", "sasl_")) for key in options)


def test_every_option_is_known_to_kafka_python() -> None:
    config = kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="pw",
        ssl_cafile="ca.pem",
        ssl_password="keypass",
    )
    assert set(consumer_options(config)) <= set(KafkaConsumer.DEFAULT_CONFIG)
    assert set(producer_options(config)) <= set(KafkaProducer.DEFAULT_CONFIG)


def test_tls_paths_resolve_and_key_password_is_revealed_only_here(tmp_path: Path) -> None:
    config = kafka(
        security_protocol="SSL",
        ssl_cafile="certs/ca.pem",
        ssl_certfile="/abs/client.pem",
        ssl_keyfile="certs/client.key",
        ssl_password="key-secret",
        ssl_check_hostname=False,
    )
    options = client_options(config, resolve=lambda p: p if p.is_absolute() else tmp_path / p)
    assert options["ssl_cafile"] == str(tmp_path / "certs/ca.pem")
    assert options["ssl_certfile"] == "/abs/client.pem"
    assert options["ssl_keyfile"] == str(tmp_path / "certs/client.key")
    assert options["ssl_password"] == "key-secret"
    assert options["ssl_check_hostname"] is False
    assert "key-secret" not in repr(config)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_username_and_password(mechanism: str) -> None:
    config = kafka(
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username="svc",
        sasl_password="s3cret",
    )
    options = client_options(config)
    assert options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == "svc"
    assert options["sasl_plain_password"] == "s3cret"
    assert "ssl_check_hostname" in options, "SASL_SSL also configures TLS"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs sasl_mechanism"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN"}, "sasl_password"),
        ({"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "p"}, "SASL_SSL"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "AWS_MSK_IAM"}, "SASL_SSL"),
    ],
)
def test_impossible_combinations_are_config_errors(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        client_options(kafka(**values))


@pytest.mark.parametrize("mechanism", ["AWS_MSK_IAM", "OAUTHBEARER"])
def test_msk_iam_uses_oauthbearer_with_a_token_provider(mechanism: str) -> None:
    config = kafka(security_protocol="SASL_SSL", sasl_mechanism=mechanism, aws_region="eu-west-1")
    options = client_options(config)
    assert options["sasl_mechanism"] == "OAUTHBEARER"
    assert isinstance(options["sasl_oauth_token_provider"], MskIamTokenProvider)


def _session(region: str | None = "us-east-1") -> Session:
    session = Session()
    session.set_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "session-token")
    if region:
        session.set_config_variable("region", region)
    return session


def test_msk_token_is_a_presigned_connect_url() -> None:
    """The token format of AWS's aws-msk-iam-sasl-signer: base64url of a SigV4 query URL."""
    token = MskIamTokenProvider("eu-west-1", session=_session()).token()
    assert "=" not in token, "base64url without padding"
    url = urlparse(_unbase64(token))
    query = parse_qs(url.query)
    assert url.scheme == "https" and url.netloc == "kafka.eu-west-1.amazonaws.com"
    assert query["Action"] == ["kafka-cluster:Connect"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert query["X-Amz-Credential"][0].endswith("/eu-west-1/kafka-cluster/aws4_request")
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Security-Token"] == ["session-token"]
    assert query["User-Agent"][0].startswith("role-usage-monitor/")
    assert "wJalrXUtnFEMI" not in url.geturl(), "the secret key only signs, never travels"


def test_msk_token_is_reused_and_region_falls_back_to_the_session() -> None:
    provider = MskIamTokenProvider(None, session=_session("ap-south-1"))
    first = provider.token()
    assert provider.token() == first
    assert "kafka.ap-south-1.amazonaws.com" in _unbase64(first)


def test_msk_token_without_region_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="aws_region"):
        MskIamTokenProvider(None, session=_session(region=None)).token()


def _unbase64(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()


def test_session_timeout_and_static_membership_are_configurable() -> None:
    from monitor.sources.kafka_client import consumer_options

    kafka = KafkaConfig(session_timeout="30s", group_instance_id="monitor-0")
    options = consumer_options(kafka)
    assert options["session_timeout_ms"] == 30_000
    assert options["heartbeat_interval_ms"] == 10_000
    assert options["group_instance_id"] == "monitor-0"
    assert "group_instance_id" not in consumer_options(KafkaConfig())
