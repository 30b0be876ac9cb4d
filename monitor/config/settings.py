"""Configuration: one YAML file, every key optional, environment variables override it.

``ROLE_MONITOR_<SECTION>__<KEY>`` overrides ``<section>.<key>`` (e.g.
``ROLE_MONITOR_KAFKA__BOOTSTRAP_SERVERS``). Relative paths resolve against the config file's
folder. Unknown keys are errors: a typo must not silently disable a detector. Every key is
documented in ``docs/configuration.md``, generated from these models (``make docs``): give a new
setting a ``Field(description=...)``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from monitor.config import state_target
from monitor.config.durations import parse_duration
from monitor.config.sources import (
    DEFAULT,
    EnvError,
    Origins,
    env_overrides,
    merge,
    validation_message,
    yaml_error,
    yaml_lines,
)

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _account_id(value: Any) -> str:
    """Exactly 12 digits: padding a short id would turn a member account into an outsider."""
    text = str(value).strip()
    if not (len(text) == 12 and text.isdigit()):
        hint = " (quote ids that start with 0)" if isinstance(value, int) else ""
        raise ValueError(f"an AWS account id has 12 digits, got {text!r}{hint}")
    return text


AccountId = Annotated[str, BeforeValidator(_account_id)]


class ConfigError(Exception):
    """A configuration problem, reported as one line and exit status 2.

    ``located``: the message already names its source (file and line, or the variable).
    """

    def __init__(self, message: str, *, located: bool = False) -> None:
        super().__init__(message)
        self.located = located


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    """Let a single string stand for a one-element list (also for env overrides)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _from_json(value: Any) -> Any:
    """Let an environment override give a mapping or a list of mappings as JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected JSON, got {value[:40]!r}") from exc
    return value


StrList = Annotated[list[str], BeforeValidator(_as_list)]
StrMap = Annotated[dict[str, str], BeforeValidator(_from_json)]


class KafkaConfig(Section):
    bootstrap_servers: StrList = ["localhost:9092"]
    topics: StrList = ["cloudtrail"]
    group_id: str = "role-usage-monitor"
    dead_letter_topic: str | None = "cloudtrail.dlq"
    client_id: str = "role-usage-monitor"
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    #: A checkpoint (deliver, persist state, commit offsets) runs at least this often...
    commit_interval: Duration = timedelta(seconds=5)
    #: ...and after this many messages, whichever comes first.
    commit_every: int = Field(default=1000, ge=1)
    max_poll_records: int = Field(default=500, ge=1)
    #: Findings of this severity or above do not wait for ``commit_interval``: the checkpoint
    #: that makes them durable and sends them runs once the poll that found them is processed
    #: (at most one checkpoint per poll), so a page leaves within milliseconds.
    urgent_severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    #: How soon a crashed instance's partitions move to another (heartbeats every third of it).
    session_timeout: Duration = timedelta(seconds=10)
    #: Static group membership: a restart under the same id does not trigger a rebalance.
    group_instance_id: str | None = None
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    sasl_mechanism: (
        Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "AWS_MSK_IAM"] | None
    ) = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    #: Region for MSK IAM authentication (AWS_MSK_IAM / OAUTHBEARER with MSK tokens).
    aws_region: str | None = None


class OrganizationConfig(Section):
    accounts: Annotated[list[AccountId], BeforeValidator(_as_list)] = []
    accounts_file: Path | None = None
    discover: bool = False
    endpoint_url: str | None = None
    region: str = "us-east-1"
    id: str | None = Field(
        default=None,
        pattern=r"^o-[a-z0-9]{10,32}$",
        description=(
            "The organization's id (o-...): trust-policy conditions on aws:PrincipalOrgID / "
            "aws:PrincipalOrgPaths count as inside the organization only when they name it; "
            "unset, such conditions are given the benefit of the doubt."
        ),
    )


class IamConfig(Section):
    enabled: bool = False
    read_role: str = "arn:aws:iam::{account}:role/RoleMonitorReader"
    ttl: Duration = timedelta(minutes=15)
    negative_ttl: Duration = timedelta(minutes=5)
    endpoint_url: str | None = None
    sts_endpoint_url: str | None = None
    region: str = "us-east-1"
    max_concurrency: int = Field(default=4, ge=1, le=64)
    timeout: Duration = timedelta(seconds=5)
    #: botocore attempts per call (adaptive mode: throttling slows the client down, then retries).
    max_attempts: int = Field(default=5, ge=1, le=20)
    #: After a failed call an account is not asked again for this long; its events say
    #: "unavailable" meanwhile instead of each waiting out the timeouts.
    failure_backoff: Duration = timedelta(seconds=30)
    negative_cache_size: int = Field(
        default=10_000,
        ge=1,
        description="Most 'no such role' answers kept; the oldest is forgotten first. Role "
        "names in failed assumptions are attacker-chosen, so this cache must not grow freely.",
    )
    not_found_per_minute: int = Field(
        default=30,
        ge=1,
        description="IAM lookups per account and minute that may answer 'no such role'; past "
        "it, unknown roles of that account answer 'unavailable' without calling IAM.",
    )


class InventoryConfig(Section):
    authorization_details: StrList = []
    iam: IamConfig = IamConfig()


class BreakGlassConfig(Section):
    role_name_patterns: StrList = ["BreakGlass*", "break-glass*", "*-break-glass"]
    role_tags: StrMap = {"break-glass": "true"}
    role_arns: StrList = []


class FederationConfig(Section):
    allowed_providers: StrList = []
    allowed_subjects: Annotated[dict[str, StrList], BeforeValidator(_from_json)] = {}


def _cidr(value: Any) -> Any:
    """A CIDR (``10.0.0.0/8``) or a single address, checked here so a typo is a config error."""
    if isinstance(value, str):
        ipaddress.ip_network(value.strip(), strict=False)  # ValueError → one-line config error
        return value.strip()
    return value


class NetworkConfig(Section):
    """Where one provider's (or account's) workload credentials are expected to come from."""

    cidrs: Annotated[list[Annotated[str, BeforeValidator(_cidr)]], BeforeValidator(_as_list)] = (
        Field(default=[], description="Addresses the credentials are used from (CIDRs).")
    )
    vpc_endpoints: StrList = Field(
        default=[], description="VPC endpoint ids (`vpce-…`) the calls may come through."
    )


class DetectorConfig(BaseModel):
    """Per-detector switches; detector-specific knobs are validated by the detector itself."""

    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: bool = True
    severity: Literal["critical", "high", "medium", "low", "info"] | None = None

    def knobs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Suppression(Section):
    """Drop findings of ``detector`` whose fields match every glob in ``match``; counted."""

    detector: str = "*"
    match: dict[str, str] = {}
    expires: date | None = None
    reason: str


def _utc(value: datetime) -> datetime:
    """CloudTrail's clock is UTC: a time written without a zone is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]
#: Longest planned window: every finding inside one is lowered, so a window left open by a typo
#: (a year for a day) must not quietly lower months of findings.
MAINTENANCE_WINDOW_LIMIT = timedelta(days=7)


class MaintenanceWindow(Section):
    """A planned game day or drill: findings inside it are annotated and lowered, never dropped."""

    start: UtcTime = Field(description="Start (RFC 3339; UTC when no zone is given).")
    end: UtcTime = Field(description="End, after `start`, at most 7 days later (exclusive).")
    accounts: Annotated[list[AccountId], BeforeValidator(_as_list)] = Field(
        default=[],
        description="Accounts the drill touches: a finding is inside when its role account "
        "(else, for findings without one, its principal account) is listed. Empty: any account.",
    )
    detectors: StrList = Field(
        default=[],
        description="Detector ids (fnmatch globs) the window lowers; empty: every detector.",
    )
    reason: str = Field(
        min_length=1, max_length=200, description="Why: shown in every finding it lowers."
    )

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        if self.end <= self.start:
            raise ValueError(f"end {self.end:%Y-%m-%dT%H:%M:%SZ} is not after start")
        if self.end - self.start > MAINTENANCE_WINDOW_LIMIT:
            raise ValueError(
                f"a window lowers every finding inside it: at most "
                f"{MAINTENANCE_WINDOW_LIMIT.days} days, got {self.end - self.start}"
            )
        return self


class DedupConfig(Section):
    #: Repeats of a finding with the same dedup key within this window are merged into it.
    window: Duration = timedelta(hours=1)


class StateConfig(Section):
    path: str = "role-monitor.db"
    retention: Duration = timedelta(days=90)
    late_event_grace: Duration = Field(
        default=timedelta(days=1),
        description="How far behind the newest event (event time) a late event may arrive and "
        "still see the short-lived facts it belongs to (sessions, open bursts, merge periods); "
        "expired facts are deleted only this long after they expired, so what a detector sees "
        "does not depend on when pruning ran.",
    )
    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user@host:5432/db?sslmode=verify-full: a PostgreSQL state "
        "shared by every instance of a consumer group (instead of the SQLite file at path); "
        "libpq options such as sslmode, sslrootcert and connect_timeout pass through",
    )
    password_file: str | None = Field(
        default=None,
        description="file holding the PostgreSQL password (else the URL's, or PGPASSWORD)",
    )

    @field_validator("url")
    @classmethod
    def _url_is_postgres(cls, value: SecretStr | None) -> SecretStr | None:
        why = value and state_target.problem(value.get_secret_value(), url_only=True)
        if why:
            raise ValueError(why)  # a one-line error naming state.url, never the value
        return value

    @field_validator("path")
    @classmethod
    def _path_is_a_path(cls, value: str) -> str:
        why = state_target.problem(value)
        if why:
            raise ValueError(why)
        return value


class ClockConfig(Section):
    """Which CloudTrail event times the pipeline trusts (see monitor/intake/clock.py)."""

    max_ahead: Duration = Field(
        default=timedelta(minutes=15),
        description="An event time further than this ahead of the wall clock is implausible: "
        "the record is dead-lettered (reason implausible_event_time), never moves the clock.",
    )
    max_age: Duration = Field(
        default=timedelta(days=1095),
        description="`run` only: an event time older than this (wall clock) is implausible "
        "for a live stream and dead-lettered the same way; `replay` and `learn` accept any "
        "time since CloudTrail began (2013-11).",
    )


class LimitsConfig(Section):
    """Per-message resource bounds."""

    max_decompressed_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="A gzip message or file that expands beyond this many bytes is "
        "dead-lettered (reason too_large) instead of being held in memory.",
    )
    max_records_per_message: int = Field(
        default=50_000,
        ge=1,
        description="A log file, JSON array or CloudWatch payload with more entries than this "
        "is dead-lettered whole (reason too_many_records), none of its records processed.",
    )
    max_elements: int = Field(
        # A real record holds 40-80 values: a log file of max_records_per_message records fits.
        default=4_000_000,
        ge=1000,
        description="JSON values one message may hold (counted from its bytes before parsing; "
        "a real record has 40-80, about one per 30 bytes): more is dead-lettered whole, unparsed "
        "(reason too_many_elements), so memory follows the message's size, not its shape.",
    )
    max_nesting: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Envelopes inside envelopes (gzip, base64, CloudWatch messages) one message "
        "may nest; deeper is dead-lettered whole (reason too_deep).",
    )


class S3SourceConfig(Section):
    """Reading CloudTrail log objects from ``s3://bucket/prefix`` (``replay``, ``learn``)."""

    endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint (a VPC endpoint, moto); default: AWS's, or AWS_ENDPOINT_URL_S3",
    )
    region: str | None = Field(default=None, description="region of the S3 client")
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="S3 listing requests in flight at once"
    )
    max_attempts: int = Field(
        default=8, ge=1, le=20, description="attempts per S3 call (botocore adaptive retries)"
    )


class ForwardConfig(Section):
    """``role-monitor forward``: S3 object-created notifications on SQS → the Kafka topic."""

    queue_url: str | None = Field(
        default=None,
        description="SQS queue receiving the trail bucket's object-created notifications "
        "(direct S3 events, SNS-wrapped or EventBridge-shaped). Required by `forward`.",
    )
    endpoint_url: str | None = Field(
        default=None, description="SQS endpoint (a VPC endpoint, moto); default: AWS's"
    )
    region: str | None = Field(default=None, description="region of the SQS client")
    topic: str | None = Field(
        default=None, description="topic the records go to; default: the first `kafka.topics`"
    )
    max_messages: int = Field(
        default=10, ge=1, le=10, description="SQS messages taken per receive (at most 10)"
    )
    wait_time: Duration = Field(
        default=timedelta(seconds=10),
        description="long-poll wait of one receive (at most 20 s); also how soon a stop is seen",
    )
    visibility_timeout: Duration = Field(
        default=timedelta(minutes=2),
        description="how long a message in hand stays hidden; extended every half of it while "
        "its objects are read and produced, so a large object is never handed out twice",
    )
    shutdown_timeout: Duration = Field(
        default=timedelta(seconds=20),
        description="on SIGTERM, how long the objects in hand may take to be acknowledged; "
        "what is not is left on the queue for the next forwarder",
    )


class JsonlSinkConfig(Section):
    path: str = "-"


class KafkaSinkConfig(Section):
    topic: str = "role-usage-alerts"


class AlertmanagerSinkConfig(Section):
    url: str = "http://127.0.0.1:9093"
    resolve_after: Duration = timedelta(hours=1)
    runbook_base_url: str | None = Field(
        default=None,
        description="Older spelling of `alerts.runbook_base_url`, used when that is not set.",
    )
    generator_url: str | None = None


class SnsSinkConfig(Section):
    topic_arn: str
    endpoint_url: str | None = None
    region: str = "us-east-1"


class WebhookSinkConfig(Section):
    url: SecretStr
    format: Literal["slack", "pagerduty", "generic"] = "generic"
    routing_key: SecretStr | None = None
    name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="The `sink` label of its metrics and log lines; default `webhook`, or "
        "`webhook-<format>` (numbered when repeated) when several webhooks are configured.",
    )


def _one_or_many(value: Any) -> Any:
    """``webhook:`` takes one receiver (a mapping) or several (a list of them)."""
    return [value] if isinstance(value, dict | WebhookSinkConfig) else value


class AlertsConfig(Section):
    jsonl: JsonlSinkConfig | None = None
    kafka: KafkaSinkConfig | None = None
    alertmanager: AlertmanagerSinkConfig | None = None
    sns: SnsSinkConfig | None = None
    webhook: Annotated[list[WebhookSinkConfig], BeforeValidator(_one_or_many)] | None = Field(
        default=None,
        description="Findings posted to webhooks (Slack, PagerDuty or generic JSON): one "
        "receiver (a mapping) or several (a list of them).",
    )
    runbook_base_url: str | None = Field(
        default=None,
        description="The runbook every alert links to as `<runbook_base_url>#<detector id>` "
        "(every sink: Alertmanager, Slack, PagerDuty, generic webhooks, SNS, and a "
        "`runbook_url` field in JSON lines and Kafka findings), e.g. this project's "
        "docs/detectors.md where on-call can read it. No link when unset.",
    )
    retry_initial: Duration = timedelta(seconds=1)
    retry_max: Duration = timedelta(seconds=60)
    call_timeout: Duration = Field(
        default=timedelta(seconds=10),
        description="Deadline of one call to a sink (its POSTs and their short retries, an SNS "
        "publish, the Kafka sink's flush): a sink that accepts the connection and never answers "
        "fails the checkpoint after this, so readiness and lag show the outage.",
    )


class MetricsConfig(Section):
    port: int | None = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of /metrics, /healthz and /readyz (null: not served; 0: any free).",
    )
    address: str = Field(
        default="127.0.0.1",
        description="Address the endpoints bind to. Loopback by default: /metrics shows what "
        "the monitor watches; containers set 0.0.0.0 (docker-compose.yml does).",
    )
    host: str | None = Field(
        default=None, description="Deprecated spelling of `address`; wins when set."
    )
    max_connections: int = Field(
        default=16,
        ge=1,
        le=1024,
        description="Requests served at once; more wait in the listen queue.",
    )
    web_config: Path | None = Field(
        default=None,
        description="TLS (cert/key, optional client CA) and basic auth (bcrypt hashes) for the "
        "endpoints: a web-config file in the format of Prometheus's exporter-toolkit "
        "(`tls_server_config`, `basic_auth_users`); relative paths inside it are relative to it. "
        "/healthz and /readyz need no password.",
    )
    ready_after_delivery_failing: Duration = Field(
        default=timedelta(minutes=2),
        description="/readyz answers 503 once every checkpoint has failed for this long.",
    )

    @property
    def bind(self) -> str:
        return self.host or self.address


class LogConfig(Section):
    level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR"],
        BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
    ] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="ROLE_MONITOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        # Lists in the environment are comma-separated, not JSON (see _as_list / _from_json).
        enable_decoding=False,
    )

    kafka: KafkaConfig = KafkaConfig()
    organization: OrganizationConfig = OrganizationConfig()
    inventory: InventoryConfig = InventoryConfig()
    trusted_external_accounts: Annotated[list[AccountId], BeforeValidator(_as_list)] = []
    break_glass: BreakGlassConfig = BreakGlassConfig()
    federation: FederationConfig = FederationConfig()
    networks: dict[str, NetworkConfig] = Field(
        default={},
        description="Where workload credentials (web identity, IRSA, Pod Identity) are expected "
        "to come from, keyed by an fnmatch glob on the provider's name (what follows "
        "`oidc-provider/`, or a bare issuer) or by a role's account id; each entry is "
        "`{cidrs: [CIDR, ...], vpc_endpoints: [vpce-..., ...]}`, e.g. "
        "`'oidc.eks.eu-west-1.amazonaws.com/id/*': {cidrs: ['10.0.0.0/8']}`. Calls AWS makes "
        "itself (a service name as the address) are always the `aws_service` class. "
        "`token_replayed_off_network` is silent without it.",
    )
    detectors: dict[str, DetectorConfig] = {}
    suppressions: list[Suppression] = []
    maintenance_windows: Annotated[list[MaintenanceWindow], BeforeValidator(_from_json)] = Field(
        default=[],
        description="Planned game days and drills (start, end, accounts, detectors, reason): "
        "findings inside are annotated with the window and lowered one severity step (never "
        "below info), never dropped. Break-glass and root findings, and callers from outside "
        "the organization and its vendors, keep their severity (annotated all the same).",
    )
    dedup: DedupConfig = DedupConfig()
    state: StateConfig = StateConfig()
    clock: ClockConfig = ClockConfig()
    limits: LimitsConfig = LimitsConfig()
    alerts: AlertsConfig = AlertsConfig()
    metrics: MetricsConfig = MetricsConfig()
    log: LogConfig = LogConfig()
    s3: S3SourceConfig = S3SourceConfig()
    forward: ForwardConfig = ForwardConfig()
    #: Folder that relative paths resolve against (the config file's folder).
    base_dir: Path = Path(".")

    @field_validator("trusted_external_accounts")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML arrives as init kwargs; environment variables must win over it.
        return (env_settings, init_settings)

    def resolve(self, path: str | Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


class _MergedSettings(Settings):
    """Settings built from already merged data: no environment source of its own."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass
class LoadedConfig:
    """The settings plus where each value came from and what looked wrong but is legal."""

    settings: Settings
    origins: Origins
    warnings: list[str]


#: Origins of the configuration loaded last: errors found later (a detector knob, a TLS
#: combination) name their key, and :func:`locate` adds the file line or variable to it.
_last_origins = Origins()


def load_settings(path: str | Path | None) -> Settings:
    """Read the YAML file at ``path`` (or only the environment when None); warnings are logged."""
    loaded = load_config(path)
    for warning in loaded.warnings:
        # Before logging is set up (``run`` sets it from these very settings): plain stderr.
        print(f"role-monitor: warning: {warning}", file=sys.stderr)
    return loaded.settings


def load_config(path: str | Path | None, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """The file, then the ``ROLE_MONITOR_*`` variables over it, validated; ConfigError if bad."""
    global _last_origins
    data, origins, base_dir = _read_file(path)
    try:
        env = env_overrides(Settings, os.environ if environ is None else environ)
    except EnvError as exc:
        raise ConfigError(str(exc), located=True) from exc
    origins.env = env.keys
    _last_origins = origins
    merged = merge(data, env.data)
    merged["base_dir"] = base_dir
    try:
        # The variables were merged above, with their names: the settings' own environment
        # source must not apply them a second time (raw, without the names for errors).
        settings: Settings = _MergedSettings(**merged)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, origins, Settings), located=True) from exc
    _check_files(settings, origins)
    return LoadedConfig(settings, origins, list(env.unknown))


def _read_file(path: str | Path | None) -> tuple[dict[str, Any], Origins, Path]:
    if path is None:
        return {}, Origins(), Path.cwd()
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"cannot read config {path}: {reason}", located=True) from exc
    try:
        loaded = yaml.safe_load(text)
        lines = yaml_lines(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error(str(path), exc), located=True) from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of sections", located=True)
    return loaded or {}, Origins(str(path), lines), config_path.resolve().parent


def _check_files(settings: Settings, origins: Origins) -> None:
    """Certificate files are read only when connecting, where a missing one would be retried
    forever without its name: check them now."""
    for key in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value: Path | None = getattr(settings.kafka, key)
        if value is None:
            continue
        resolved = settings.resolve(value)
        if not resolved.is_file():
            where = origins.of(("kafka", key))
            raise ConfigError(f"{where}: kafka.{key}: no such file: {resolved}", located=True)


_KEY_AT_START = re.compile(r"^(?P<key>[a-z_]+(?:\.[A-Za-z0-9_*-]+)*)[ :]")


def locate(message: str) -> str:
    """Prefix a message that starts with a dotted key with where that key was set."""
    match = _KEY_AT_START.match(message)
    if match is None:
        return message
    source = _last_origins.of(match.group("key").split("."))
    # pydantic's wording for a typo'd detector knob, in this project's words.
    message = message.replace("Extra inputs are not permitted", "unknown key")
    return message if source is DEFAULT else f"{source}: {message}"
