"""Wiring: settings → organization, role catalog, enricher, detectors, state, pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from detectors import registry
from detectors.base import Detector
from monitor import __version__
from monitor.config.settings import Settings
from monitor.detect.pipeline import Pipeline
from monitor.intake.bounds import Limits, set_limits
from monitor.inventory.catalog import RoleCatalog, RoleSource
from monitor.inventory.organization import OrgDirectory
from monitor.inventory.snapshot import SnapshotSource
from monitor.metrics import Metrics
from monitor.state.open import open_state
from monitor.state.store import StateStore
from monitor.trust.enrich import Enricher


@dataclass
class Monitor:
    settings: Settings
    org: OrgDirectory
    catalog: RoleCatalog
    detectors: list[Detector]
    state: StateStore
    metrics: Metrics
    pipeline: Pipeline

    def close(self) -> None:
        self.state.close()


def build_org(settings: Settings) -> OrgDirectory:
    """Configured accounts and ``accounts_file``, plus Organizations ListAccounts if enabled."""
    org = settings.organization
    accounts_file = settings.resolve(org.accounts_file) if org.accounts_file else None
    directory = OrgDirectory.build(org.accounts, accounts_file)
    if org.discover:  # boto3 is imported only when an AWS API is used
        from monitor.inventory.discovery import discover_accounts

        found = discover_accounts(org, have_fallback=bool(directory.accounts))
        # Every configured account stays; a discovered name fills in where none was given.
        accounts = dict(directory.accounts)
        accounts.update({k: v for k, v in found.items() if not accounts.get(k)})
        directory = OrgDirectory(accounts)
    return directory


def build_catalog(
    settings: Settings, org: OrgDirectory | None = None, metrics: Metrics | None = None
) -> RoleCatalog:
    """Snapshot files first; live IAM (``inventory.iam.enabled``) fills the gaps.

    Live IAM is asked only about the organization's accounts when they are known: a role in a
    vendor's account cannot be read through our read role, and trying would only cost timeouts.
    """
    files = [settings.resolve(path) for path in settings.inventory.authorization_details]
    sources: list[RoleSource] = [SnapshotSource.from_files(files)]
    iam = settings.inventory.iam
    if iam.enabled:
        from monitor.inventory.iam import IamSource

        accounts = org.accounts if org is not None else ()
        sources.append(IamSource(iam, accounts=accounts, metrics=metrics))
    return RoleCatalog(sources)


def configured_state(settings: Settings) -> str:
    """``state.url`` when set (a group's PostgreSQL), else ``state.path`` resolved against the
    config's folder (``:memory:`` as it is)."""
    if settings.state.url is not None:
        return settings.state.url.get_secret_value()
    path = settings.state.path
    return path if path == ":memory:" else str(settings.resolve(path))


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def open_group_state(settings: Settings, url: str) -> StateStore:
    """The PostgreSQL state a group shares (docs/scaling.md); ConfigError (one line, no
    password) when it cannot be opened."""
    from monitor.config.settings import ConfigError
    from monitor.state.errors import StateUnavailable
    from monitor.state.postgres import open_backend, redacted

    password_file = settings.state.password_file
    resolved = settings.resolve(password_file) if password_file else None
    backend = open_backend(url, resolved)
    try:
        return StateStore(redacted(url), backend=backend)
    except StateUnavailable as exc:  # lost between connecting and reading the state
        raise ConfigError(f"state.url: cannot read the state database {exc}") from exc


def build_monitor(
    settings: Settings,
    state_path: str | None = None,
    metrics: Metrics | None = None,
) -> Monitor:
    """Everything up to (not including) the sinks; ``state_path`` overrides ``state.path``.

    ``state_path`` comes from the command line, so a relative one names a file in the current
    folder (as ``roles --state`` reads it); ``state.path`` resolves against the config's folder.
    """
    metrics = metrics or Metrics()
    metrics.build_info.info({"version": __version__})
    org = build_org(settings)
    catalog = build_catalog(settings, org, metrics)
    detectors = registry.build(settings)
    metrics.initialise([detector.id for detector in detectors])
    path = configured_state(settings) if state_path is None else state_path
    state = open_group_state(settings, path) if is_url(path) else open_state(path, metrics)
    metrics.watch_state(state.sizes)
    enricher = Enricher(settings, catalog, org)
    pipeline = Pipeline(settings, enricher, detectors, state, metrics)
    set_limits(Limits(**settings.limits.model_dump()))
    return Monitor(settings, org, catalog, detectors, state, metrics, pipeline)
