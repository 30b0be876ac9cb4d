"""The one place that lists every detector, and builds the enabled ones from the config."""

from __future__ import annotations

from pydantic import ValidationError

from detectors.base import Detector
from detectors.break_glass import BreakGlassAssumed, BreakGlassDenied
from detectors.external_account import ExternalAccount, MissingExternalId
from detectors.federation import FederationSubjectNotAllowed, FederationUntrustedProvider
from monitor.config import ConfigError, Settings

ALL: tuple[type[Detector], ...] = (
    ExternalAccount,
    MissingExternalId,
    FederationUntrustedProvider,
    FederationSubjectNotAllowed,
    BreakGlassAssumed,
    BreakGlassDenied,
)


def by_id() -> dict[str, type[Detector]]:
    return {detector.id: detector for detector in ALL}


def build(settings: Settings) -> list[Detector]:
    """Instances of every enabled detector with its options; unknown ids are config errors."""
    known = by_id()
    unknown = sorted(set(settings.detectors) - set(known))
    if unknown:
        raise ConfigError(f"detectors: unknown detector id {unknown[0]!r}")
    built: list[Detector] = []
    for detector_id, cls in known.items():
        config = settings.detectors.get(detector_id)
        if config is not None and not config.enabled:
            continue
        try:
            options = cls.Options(**(config.knobs() if config else {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ConfigError(f"detectors.{detector_id}.{where}: {first['msg']}") from exc
        built.append(cls(options))
    return built
