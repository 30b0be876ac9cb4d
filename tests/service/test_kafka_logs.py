"""Service logs: JSON lines off a terminal, readable text on one, and never a secret.

Why: log shippers parse what ``role-monitor run`` writes, and an operator pastes its startup
line into tickets; a password there would leak with it.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kafka_service import ROLE_MONITOR

from monitor.config.settings import Settings
from monitor.service.logs import (
    JsonFormatter,
    LibraryThrottle,
    TextFormatter,
    effective_config,
    mask_url_credentials,
    setup_logging,
)

SECRETS = ("hunter2-kafka", "keystore-pw", "pa55word", "hooks-secret-path")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def record(message: str = "hello %s", **extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord(
        {"name": "monitor.x", "levelname": "WARNING", "levelno": 30, "msg": message}
    )
    made.args = ("world",)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_level_message_and_fields() -> None:
    line = JsonFormatter().format(record(partition=3, topic="ct"))
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["message"] == "hello world"
    assert entry["fields"] == {"partition": 3, "topic": "ct"}
    assert entry["ts"].endswith("+00:00") and entry["logger"] == "monitor.x"


def test_text_lines_for_people() -> None:
    line = TextFormatter().format(record(partition=3, error="two words"))
    assert "WARNING" in line and "hello world" in line
    assert 'partition=3 error="two words"' in line


def test_format_follows_the_terminal(restore_logging: None) -> None:
    out = io.StringIO()  # not a TTY, like a container's stderr
    setup_logging("INFO", "auto", stream=out)
    logging.getLogger("monitor.test").info("started", extra={"n": 1})
    assert json.loads(out.getvalue())["fields"] == {"n": 1}
    tty = _Tty()
    setup_logging("INFO", "auto", stream=tty)
    logging.getLogger("monitor.test").info("started")
    assert "started" in tty.getvalue() and not tty.getvalue().startswith("{")


def test_a_chatty_library_is_throttled_not_silenced() -> None:
    throttle = LibraryThrottle(interval=30)
    first = logging.makeLogRecord({"name": "kafka.net", "levelno": 40, "msg": "failed: %s"})
    again = logging.makeLogRecord({"name": "kafka.net", "levelno": 40, "msg": "failed: %s"})
    again.created = first.created + 1
    later = logging.makeLogRecord({"name": "kafka.net", "levelno": 40, "msg": "failed: %s"})
    later.created = first.created + 31
    ours = logging.makeLogRecord({"name": "monitor.run", "levelno": 40, "msg": "failed: %s"})
    assert [throttle.filter(r) for r in (first, again, later, ours, ours)] == [
        True,
        False,
        True,
        True,
        True,
    ]


def test_effective_config_masks_every_secret() -> None:
    settings = secret_settings(Path("/tmp"))
    text = json.dumps(effective_config(settings))
    for secret in SECRETS:
        assert secret not in text
    assert "**********" in text
    assert "http://**********@127.0.0.1:9093" in text


def test_url_credentials_are_masked() -> None:
    assert mask_url_credentials("see https://u:p@h:1/x and ftp://h/") == (
        "see https://**********@h:1/x and ftp://h/"
    )


def test_startup_line_without_a_broker_then_sigterm(tmp_path: Path) -> None:
    """No broker at all: the service logs its (masked) configuration, keeps retrying instead of
    crashing, and still stops on SIGTERM with status 0 and no secret in its output."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(secret_document()))
    log_path = tmp_path / "stderr.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(ROLE_MONITOR), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 30
        while "cannot reach Kafka" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    output = log_path.read_text()
    assert code == 0
    first = json.loads(output.splitlines()[0])
    assert first["message"] == "role-monitor run starting"
    assert first["fields"]["config"]["kafka"]["sasl_password"] == "**********"
    for secret in SECRETS:
        assert secret not in output


def secret_document() -> dict[str, object]:
    return {
        "kafka": {
            "bootstrap_servers": "127.0.0.1:1",
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "svc",
            "sasl_password": "hunter2-kafka",
            "ssl_password": "keystore-pw",
        },
        "alerts": {
            "alertmanager": {"url": "http://admin:pa55word@127.0.0.1:9093"},
            "webhook": {"url": "https://hooks.example/hooks-secret-path"},
        },
        "state": {"path": ":memory:"},
        "metrics": {"port": None},
    }


def secret_settings(base: Path) -> Settings:
    return Settings(base_dir=base, **secret_document())  # type: ignore[arg-type]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_missing_topic_at_first_start_is_one_info_line(restore_logging: None) -> None:
    """kafka-python logs an ERROR per metadata refresh while the topic does not exist yet."""
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)
    cluster = logging.getLogger("kafka.cluster")
    for _ in range(5):
        cluster.error("Topic %s not found in cluster metadata", "cloudtrail")
    cluster.error("Topic %s not found in cluster metadata", "cloudtrail.dlq")
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["level"], e["message"]) for e in entries] == [
        ("INFO", "topic cloudtrail does not exist yet: waiting for it"),
        ("INFO", "topic cloudtrail.dlq does not exist yet: waiting for it"),
    ]


def test_a_topic_missing_for_long_is_a_warning() -> None:
    from monitor.service.logs import MissingTopicNote

    note = MissingTopicNote(patience=60)

    def seen(at: float) -> logging.LogRecord | None:
        made = logging.makeLogRecord(
            {
                "name": "kafka.cluster",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "msg": MissingTopicNote.MESSAGE,
                "args": ("cloudtrail",),
                "created": at,
            }
        )
        return made if note.filter(made) else None

    first, quiet, late = seen(0.0), seen(30.0), seen(61.0)
    assert first is not None and first.levelname == "INFO"
    assert quiet is None
    assert late is not None and late.levelname == "WARNING"
