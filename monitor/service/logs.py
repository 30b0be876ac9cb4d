"""Logging for the long-running service: JSON lines for machines, readable lines for people.

When stderr is not a terminal (a container, systemd, a pipe) every record is one JSON object per
line (``ts``, ``level``, ``logger``, ``message`` plus the record's ``extra`` fields), so a log
shipper needs no parsing rules; on a terminal the same fields print as ``key=value`` text.
Secrets never reach a log line: the effective configuration is dumped through pydantic, which
masks every ``SecretStr``, and credentials embedded in URLs are masked here as well.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from monitor.config.settings import Settings

#: Attributes every LogRecord has; anything else came from ``extra=`` and is a field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
MASK = "**********"


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller passed with ``extra={...}``."""
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values that JSON cannot hold become their ``str()``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = fields_of(record)
        if fields:
            entry["fields"] = fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value ...`` for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{moment} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields = fields_of(record)
        if fields:
            line += " " + " ".join(f"{k}={_compact(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _compact(value: Any) -> str:
    if isinstance(value, str) and " " not in value:
        return value
    return orjson.dumps(value, default=str).decode()


class LibraryThrottle(logging.Filter):
    """At most one line per ``interval`` seconds for each message of a chatty library.

    kafka-python logs every failed reconnect attempt (several a second while a broker is
    away); one line per kind and interval still tells the story without burying ours.
    """

    def __init__(self, prefix: str = "kafka", interval: float = 30.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.interval = interval
        self._last: dict[tuple[str, int, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix) or record.levelno >= logging.CRITICAL:
            return True
        key = (record.name, record.levelno, str(record.msg))
        last = self._last.get(key)
        if last is not None and record.created - last < self.interval:
            return False
        self._last[key] = record.created
        return True


class MissingTopicNote(logging.Filter):
    """kafka-python's ERROR "Topic X not found in cluster metadata" as one INFO line per topic.

    On a normal first start the topic does not exist until someone produces to it (or creates
    it), and kafka-python logs that ERROR at every metadata refresh. The first time becomes one
    INFO line; only a topic still missing after ``patience`` seconds is worth a WARNING (then
    at most one per ``patience``).
    """

    MESSAGE = "Topic %s not found in cluster metadata"

    def __init__(self, patience: float = 600.0) -> None:
        super().__init__()
        self.patience = patience
        self._warned: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "kafka.cluster" or record.msg != self.MESSAGE or not record.args:
            return True
        topic = str(record.args[0] if isinstance(record.args, tuple) else record.args)
        if topic not in self._warned:  # its first sighting
            self._warned[topic] = record.created
            self._rewrite(record, logging.INFO, f"topic {topic} does not exist yet: waiting for it")
            return True
        if record.created - self._warned[topic] < self.patience:
            return False
        self._warned[topic] = record.created
        self._rewrite(record, logging.WARNING, f"topic {topic} still does not exist")
        return True

    @staticmethod
    def _rewrite(record: logging.LogRecord, level: int, message: str) -> None:
        record.levelno, record.levelname = level, logging.getLevelName(level)
        # The topic goes into the text: later filters throttle per distinct message.
        record.msg, record.args = message, ()


def setup_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Route every logger to ``stream`` (stderr) in the chosen format; idempotent."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(MissingTopicNote())
    if level != "DEBUG":
        handler.addFilter(LibraryThrottle())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # kafka-python narrates every connection at INFO; its warnings and errors are enough.
    logging.getLogger("kafka").setLevel(max(logging.getLevelName(level), logging.WARNING))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def mask_url_credentials(text: str) -> str:
    """``https://user:pass@host/`` → ``https://**********@host/``."""
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def effective_config(settings: Settings) -> dict[str, Any]:
    """The whole configuration as it will be used, safe to log (secrets masked)."""
    return _mask(settings.model_dump(mode="json"))


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, str):
        return mask_url_credentials(value)
    return value
