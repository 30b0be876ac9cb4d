"""``docs/configuration.md``, generated from the settings models: every key, once.

Keys, types, defaults and environment variables come from :class:`monitor.config.settings.Settings`
itself, so the page cannot drift from what the loader accepts (``tests/config/test_config_docs.py``
fails when the committed page differs). A key's meaning is, in order: its ``Field``
``description``; the ``#:`` comment above it in ``monitor/config/settings.py``; the table below for
keys written before descriptions were asked for. A new setting needs a description, or the test
fails. Regenerate with ``make docs`` (or ``python -m monitor.commands.config_docs >
docs/configuration.md``).
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from detectors.windows import human
from monitor.config.settings import (
    DetectorConfig,
    MaintenanceWindow,
    Settings,
    Suppression,
    WebhookSinkConfig,
)

ENV_PREFIX = "ROLE_MONITOR_"
#: Not a setting: the loader fills it with the config file's folder.
INTERNAL = frozenset({"base_dir"})

#: Meanings of keys that predate descriptions in the models (new keys: use ``description``).
MEANINGS: dict[str, str] = {
    "kafka.bootstrap_servers": "Kafka brokers to connect to (host:port, comma-separated).",
    "kafka.topics": "Topics carrying CloudTrail records, in any supported envelope.",
    "kafka.group_id": "Consumer group: instances sharing it split the partitions.",
    "kafka.dead_letter_topic": "Where unreadable input goes, with the reason in its headers "
    "(null: dropped with a warning).",
    "kafka.client_id": "Client id the broker sees (logs, quotas).",
    "kafka.auto_offset_reset": "Where a new consumer group starts: earliest or latest.",
    "kafka.max_poll_records": "Most records fetched per poll.",
    "kafka.security_protocol": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
    "kafka.ssl_cafile": "CA bundle to verify the brokers' certificates.",
    "kafka.ssl_certfile": "Client certificate (mutual TLS).",
    "kafka.ssl_keyfile": "Private key of the client certificate.",
    "kafka.ssl_password": "Password of the private key.",
    "kafka.ssl_check_hostname": "Check that the broker certificate names the host.",
    "kafka.sasl_mechanism": "SASL mechanism; AWS_MSK_IAM for MSK with IAM authentication.",
    "kafka.sasl_username": "SASL user name (PLAIN, SCRAM).",
    "kafka.sasl_password": "SASL password (PLAIN, SCRAM).",
    "organization.accounts": "Member accounts of the organization (12-digit ids).",
    "organization.accounts_file": "`aws organizations list-accounts` output: more members, "
    "with names.",
    "organization.discover": "Call Organizations ListAccounts at start to learn the members.",
    "organization.endpoint_url": "Organizations endpoint (tests, VPC endpoints).",
    "organization.region": "Region of the Organizations client.",
    "inventory.authorization_details": "`aws iam get-account-authorization-details` outputs: "
    "role trust policies and tags, one file per account.",
    "inventory.iam.enabled": "Look roles up in IAM live (through `read_role`) when the "
    "snapshot files do not have them.",
    "inventory.iam.read_role": "Role assumed in each account to read IAM; `{account}` is "
    "replaced by the account id.",
    "inventory.iam.ttl": "How long a role read from IAM is trusted before it is read again.",
    "inventory.iam.negative_ttl": 'How long "no such role" is remembered.',
    "inventory.iam.endpoint_url": "IAM endpoint (tests, VPC endpoints).",
    "inventory.iam.sts_endpoint_url": "STS endpoint used to assume `read_role`.",
    "inventory.iam.region": "Region of the IAM and STS clients.",
    "inventory.iam.max_concurrency": "Most IAM calls in flight at once.",
    "inventory.iam.timeout": "Connect and read timeout of one IAM call.",
    "trusted_external_accounts": "Accounts outside the organization allowed to assume roles "
    "(vendors); their assumptions are `vendor`, not `external`.",
    "break_glass.role_name_patterns": "fnmatch patterns (case-insensitive) on the role name "
    "that mark a role break-glass.",
    "break_glass.role_tags": "Tags (key: value) any of which marks a role break-glass.",
    "break_glass.role_arns": "Role ARNs that are break-glass.",
    "federation.allowed_providers": "fnmatch globs on the identity provider's name or ARN "
    "that may be used to assume roles.",
    "federation.allowed_subjects": "Per provider name: fnmatch globs on the web-identity "
    "subject; a provider absent here allows any subject.",
    "detectors.<id>.enabled": "Run the detector (every detector is on by default).",
    "detectors.<id>.severity": "Override the detector's severity (critical, high, medium, "
    "low, info).",
    "detectors.<id>.<knob>": "The detector's own knobs: see [detectors.md](detectors.md).",
    "suppressions[].detector": "Detector id the rule applies to (glob; `*` for all).",
    "suppressions[].match": "Finding fields (dotted paths into `evidence` too) and the glob "
    "each must match.",
    "suppressions[].expires": "Date after which the rule no longer applies.",
    "suppressions[].reason": "Why findings are suppressed (required: it is logged).",
    "state.path": "State store file (SQLite), or `:memory:`.",
    "state.retention": "How long state (first-seen pairs, windows, dedup keys) is kept, in "
    "event time.",
    "alerts.jsonl": "Findings as JSON lines, one object per finding.",
    "alerts.kafka": "Findings produced to a Kafka topic.",
    "alerts.alertmanager": "Findings as Prometheus Alertmanager alerts.",
    "alerts.sns": "Findings published to an SNS topic.",
    "alerts.jsonl.path": "File findings are appended to as JSON lines; `-` for stdout.",
    "alerts.kafka.topic": "Topic findings are produced to (on the `kafka` brokers).",
    "alerts.alertmanager.url": "Alertmanager base URL (alerts are posted to /api/v2/alerts).",
    "alerts.alertmanager.resolve_after": "How long after its event (or its arrival, if "
    "later) an alert resolves.",
    "alerts.alertmanager.generator_url": "Link back to the monitor shown in Alertmanager.",
    "alerts.sns.topic_arn": "SNS topic findings are published to.",
    "alerts.sns.endpoint_url": "SNS endpoint (tests, VPC endpoints).",
    "alerts.sns.region": "Region of the SNS client.",
    "alerts.webhook[].url": "Webhook URL findings are posted to.",
    "alerts.webhook[].format": "Payload shape: slack, pagerduty or generic.",
    "alerts.webhook[].routing_key": "PagerDuty Events v2 routing key (format pagerduty).",
    "alerts.retry_initial": "First wait before retrying a failed delivery (doubles each try).",
    "alerts.retry_max": "Longest wait between delivery retries.",
    "metrics.port": "Port of /metrics, /healthz and /readyz (null: not served; 0: any free).",
    "metrics.host": "Address /metrics listens on.",
    "log.level": "DEBUG, INFO, WARNING or ERROR.",
    "log.format": "json, text, or auto (json unless stderr is a terminal).",
}

INTRO = """\
# Configuration reference

Every key `role-monitor` reads from its YAML file (`--config FILE`), generated from the settings
models by `make docs` (`python -m monitor.commands.config_docs > docs/configuration.md`); a test
keeps the page equal to the code. Every key is optional. An environment variable overrides the file:
`ROLE_MONITOR_<SECTION>__<KEY>` (nested sections add `__<KEY>`); lists are comma-separated and
mappings JSON text. Relative paths resolve against the config file's folder. Durations are
written `500ms`, `30s`, `15m`, `1h`, `7d`. An unknown key is an error (exit status 2), so a typo
cannot silently turn a detector off. A section shown as *optional section* is off unless present.
"""


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str
    env: str


def render() -> str:
    """The whole page."""
    rows = list(_rows(Settings, prefix="", env=ENV_PREFIX))
    parts = [INTRO]
    for section, section_rows in _by_section(rows):
        parts.append(f"## `{section}`\n")
        table = [
            "| key | type | default | meaning | environment variable |",
            "|---|---|---|---|---|",
        ]
        table += [
            f"| `{r.key}` | {r.type} | {r.default} | {_cell(r.meaning)} | {r.env} |"
            for r in section_rows
        ]
        parts.append("\n".join(table) + "\n")
    return "\n".join(parts)


def missing_meanings() -> list[str]:
    """Keys with no description anywhere (the test fails on any)."""
    return [r.key for r in _rows(Settings, prefix="", env=ENV_PREFIX) if not r.meaning]


def _by_section(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    sections: dict[str, list[Row]] = {}
    for row in rows:
        head = re.split(r"[.\[]", row.key, maxsplit=1)[0]
        sections.setdefault(head, []).append(row)
    return list(sections.items())


def _rows(model: type[BaseModel], prefix: str, env: str | None) -> list[Row]:
    rows: list[Row] = []
    for name, field in model.model_fields.items():
        if not prefix and name in INTERNAL:
            continue
        key = f"{prefix}{name}"
        variable = f"{env}{name.upper()}" if env else None
        nested, optional = _model_of(field.annotation)
        if nested is not None:
            if optional:
                rows.append(
                    Row(key, "*optional section*", "absent", _meaning(model, name, field, key), "—")
                )
            rows.extend(_rows(nested, f"{key}.", f"{variable}__" if variable else None))
        elif name == "detectors" and not prefix:
            rows.extend(_detector_rows(variable))
        elif name == "suppressions" and not prefix:
            rows.extend(_list_rows(Suppression, "suppressions[]."))
        elif name == "maintenance_windows" and not prefix:  # a list of windows, JSON in env
            meaning = _meaning(model, name, field, key)
            rows.append(Row(key, "list of windows", "`[]`", meaning, f"`{variable}` (JSON)"))
            rows.extend(_list_rows(MaintenanceWindow, "maintenance_windows[]."))
        elif key == "alerts.webhook":  # one receiver or a list of them
            meaning = _meaning(model, name, field, key)
            rows.append(Row(key, "*optional section* or list", "absent", meaning, f"`{variable}`"))
            rows.extend(_list_rows(WebhookSinkConfig, "alerts.webhook[]."))
        else:
            rows.append(
                Row(
                    key,
                    _type(field.annotation),
                    _default(field),
                    _meaning(model, name, field, key),
                    f"`{variable}`" if variable else "— (YAML only)",
                )
            )
    return rows


def _detector_rows(variable: str | None) -> list[Row]:
    rows = []
    for name, field in DetectorConfig.model_fields.items():
        key = f"detectors.<id>.{name}"
        meaning = _meaning(DetectorConfig, name, field, key)
        env = f"`{variable}__<ID>__{name.upper()}`"
        rows.append(Row(key, _type(field.annotation), _default(field), meaning, env))
    knob = "detectors.<id>.<knob>"
    rows.append(
        Row(knob, "per detector", "per detector", MEANINGS[knob], f"`{variable}__<ID>__<KNOB>`")
    )
    return rows


def _list_rows(model: type[BaseModel], prefix: str) -> list[Row]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        meaning = _meaning(model, name, field, key)
        rows.append(Row(key, _type(field.annotation), _default(field), meaning, "— (YAML only)"))
    return rows


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section model behind ``annotation`` and whether it may be null (absent)."""
    args = get_args(annotation) if _is_union(annotation) else (annotation,)
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    if len(models) != 1:
        return None, False
    return models[0], type(None) in args


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _type(annotation: Any) -> str:
    """A type as an operator reads it."""
    if get_origin(annotation) is Annotated:
        return _type(get_args(annotation)[0])
    if _is_union(annotation):
        parts = [_type(a) for a in get_args(annotation) if a is not type(None)]
        nullable = type(None) in get_args(annotation)
        return " or ".join(parts) + (" or null" if nullable else "")
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if origin is list:
        return f"list of {_type(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping of {_type(key)} to {_type(value)}"
    return _SIMPLE.get(annotation, getattr(annotation, "__name__", str(annotation)))


_SIMPLE: dict[Any, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    timedelta: "duration",
    Path: "path",
    SecretStr: "secret string",
}


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is PydanticUndefined:
        return "*required*"
    if value is None:
        return "null"
    if isinstance(value, timedelta):
        return f"`{human(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    if isinstance(value, list):
        return "`" + ", ".join(str(v) for v in value) + "`"
    if isinstance(value, dict):
        return "`" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "`"
    return f"`{value}`"


def _meaning(model: type[BaseModel], name: str, field: FieldInfo, key: str) -> str:
    if field.description:
        return " ".join(field.description.split())
    comment = _comments(model).get(name)
    return comment or MEANINGS.get(key, "")


def _comments(model: type[BaseModel]) -> dict[str, str]:
    """``#:`` comment lines directly above each field of ``model``'s class body."""
    try:
        lines = inspect.getsource(model).splitlines()
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", stripped)
        if match and pending:
            found[match.group(1)] = " ".join(pending)
        pending = []
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    sys.stdout.write(render())
