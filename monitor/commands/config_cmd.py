"""``role-monitor config check --config FILE``: the configuration as ``run`` would use it.

Loads the file and the ``ROLE_MONITOR_*`` variables exactly as ``run`` does, reads the
organization and the role inventory it names, builds the detectors, then prints every
setting (secrets masked) with where it came from: ``file:line``, the environment variable,
or ``default``. Legal but probably wrong choices are warnings: unknown ``ROLE_MONITOR_*``
variables, state in memory or no metrics port (both fine for ``replay``, not for ``run``), a
trusted external account that is also a member, break-glass name patterns matching no role
of the inventory. Notes name enabled detectors that cannot fire under this configuration
(``token_replayed_off_network`` without ``networks``). Exit status 0 when clean (notes
included), 1 with warnings, 2 for an error (one line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: ``role-monitor --help`` should not load them
    from monitor.config.settings import LoadedConfig, Settings
    from monitor.config.sources import Key, Origins, Source


def register(commands: argparse._SubParsersAction[Any]) -> None:
    parser = commands.add_parser(
        "config", help="check a configuration: effective values, their sources, warnings"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="print the effective configuration and where each value came from",
        description=__doc__.strip() if __doc__ else None,
    )
    check.add_argument("--config", help="YAML configuration file (default: only the environment)")
    check.set_defaults(handler=run)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from detectors import registry
    from monitor.config.settings import load_config
    from monitor.sources.kafka_client import client_options

    loaded = load_config(args.config)
    settings = loaded.settings
    # What `run` rejects only later: unknown detector ids, knob typos, impossible TLS/SASL.
    registry.build(settings)
    client_options(settings.kafka, settings.resolve)
    for line in effective_lines(loaded):
        print(line)
    problems = loaded.warnings + run_warnings(settings) + inventory_warnings(settings)
    for problem in problems:
        print(f"role-monitor: warning: {problem}", file=sys.stderr)
    for note in silent_detectors(settings):
        print(f"role-monitor: note: {note}", file=sys.stderr)
    summary = f"{len(problems)} warnings" if problems else "configuration OK"
    print(f"role-monitor: {summary}", file=sys.stderr)
    return 1 if problems else 0


def effective_lines(loaded: LoadedConfig) -> list[str]:
    """``key = value  # source`` for every setting, aligned; secrets are masked."""
    data = loaded.settings.model_dump(exclude={"base_dir"})
    rows = [
        (".".join(key), _shown_at(key, value), str(source_of(loaded.origins, key)))
        for key, value in _leaves(data, ())
    ]
    width = min(max((len(k) + len(v) for k, v, _ in rows), default=0) + 3, 70)
    return [f"{f'{k} = {v}':<{width}}  # {source}" for k, v, source in rows]


def source_of(origins: Origins, key: Key) -> Source:
    """The exact key's source; an enclosing variable set as JSON; otherwise the default."""
    from monitor.config.sources import DEFAULT

    if key in origins.env or key in origins.lines:
        return origins.of(key)
    for end in range(len(key) - 1, 0, -1):
        if key[:end] in origins.env:
            return origins.of(key[:end])
    return DEFAULT


def _leaves(value: Any, key: Key) -> Iterator[tuple[Key, Any]]:
    """Settings one by one; lists of sections (webhooks, suppressions) item by item."""
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from _leaves(item, (*key, str(name)))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, (*key, str(index)))
    else:
        yield key, value


def _shown_at(key: Key, value: Any) -> str:
    """The state URL with its password masked (which database matters to an operator);
    every other value as :func:`_shown` says."""
    from pydantic import SecretStr

    from monitor.config.state_target import masked

    if key == ("state", "url") and isinstance(value, SecretStr):
        return json.dumps(masked(value.get_secret_value()))
    return _shown(value)


def _shown(value: Any) -> str:
    """As an operator would write it: ``5s`` not ``PT5S``; secrets and URL passwords masked."""
    from pydantic import SecretStr

    from detectors.windows import human
    from monitor.service.logs import MASK, mask_url_credentials

    if isinstance(value, str):
        return json.dumps(mask_url_credentials(value))
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, timedelta):
        return human(value)
    if isinstance(value, SecretStr):
        return json.dumps(MASK)
    if isinstance(value, Path | date):
        return json.dumps(str(value))
    return json.dumps(value)


def run_warnings(settings: Settings) -> list[str]:
    """What ``run`` would do silently that an operator probably did not intend."""
    from monitor.sinks.factory import runbook_base_url

    warnings = []
    if settings.state.path == ":memory:":
        warnings.append(
            "state.path is :memory:: `run` would forget baselines and delivered findings at "
            "every restart (first-seen alerts again, pages twice); fine for `replay`"
        )
    if settings.metrics.port is None:
        warnings.append("metrics.port is null: `run` would serve no /metrics, /healthz, /readyz")
    elif settings.metrics.web_config is None and not _loopback(settings.metrics.bind):
        warnings.append(
            f"metrics.address {settings.metrics.bind} listens beyond loopback without "
            "metrics.web_config: anyone who reaches the port reads /metrics over plain HTTP "
            "(set TLS and basic auth, or keep the port on a private network)"
        )
    alerts = settings.alerts
    for_people = alerts.alertmanager or alerts.webhook or alerts.sns
    if for_people and runbook_base_url(settings) is None:
        warnings.append("alerts.runbook_base_url is not set: alerts will carry no runbook link")
    return warnings


def _loopback(address: str) -> bool:
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def silent_detectors(settings: Settings) -> list[str]:
    """Enabled detectors that cannot fire under this configuration: notes, not warnings (the
    defaults are legal; the operator should still know what is not watched)."""
    config = settings.detectors.get("token_replayed_off_network")
    enabled = config is None or config.enabled
    if enabled and not settings.networks:
        return [
            "token_replayed_off_network is silent: no `networks` declared (CIDRs or VPC "
            "endpoints per web-identity provider or account), so no token use is off-network"
        ]
    return []


def inventory_warnings(settings: Settings) -> list[str]:
    """Contradictions between the configuration and the organization / inventory it names."""
    from monitor.service.app import build_catalog, build_org

    org = build_org(settings)
    warnings = [
        f"trusted_external_accounts: {account} is also a member of the organization "
        "(its calls are organization calls, never vendor ones)"
        for account in settings.trusted_external_accounts
        if account in org
    ]
    if settings.inventory.iam.enabled:
        return warnings  # live IAM: the inventory is not known in advance
    names = [role.name for role in build_catalog(settings, org).roles()]
    if names:
        warnings += [
            f"break_glass.role_name_patterns: {pattern!r} matches no role of the inventory"
            for pattern in settings.break_glass.role_name_patterns
            if not any(fnmatchcase(name.lower(), pattern.lower()) for name in names)
        ]
    return warnings
