"""``metrics.web_config``: TLS and basic auth for the endpoints, in the exporter-toolkit format.

The file Prometheus exporters take with ``--web.config.file`` (only the keys below; anything
else is refused, so a typo never silently leaves the port open)::

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_ca_file: ca.crt                         # optional: verify client certificates
      client_auth_type: RequireAndVerifyClientCert   # default with a client CA
      min_version: TLS12                             # optional (TLS12 default, or TLS13)
    basic_auth_users:
      prometheus: $2y$10$...                         # bcrypt hashes (htpasswd -nBC 10 "")

Basic auth guards ``/`` and ``/metrics``; ``/healthz`` and ``/readyz`` answer without it (they
say only up or ready, and kubelet probes carry no credentials), over TLS all the same. A good
password is checked with bcrypt once and then remembered by its SHA-256 (as exporter-toolkit
caches), so a scrape every few seconds does not pay bcrypt's cost each time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.config.settings import ConfigError

_TLS_KEYS = {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
}
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


@dataclass
class WebConfig:
    """What the endpoint server needs: a TLS context and the users allowed in."""

    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    _good: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, authorization: str | None) -> bool:
        """True without users, or for a ``Basic`` header naming a user and their password."""
        if not self.users:
            return True
        user, password = _credentials(authorization)
        hashed = self.users.get(user or "")
        if user is None or hashed is None or password is None:
            return False
        token = hashlib.sha256(user.encode() + b"\0" + password + b"\0" + hashed).digest()
        with self._lock:
            if any(hmac.compare_digest(token, good) for good in self._good):
                return True
        import bcrypt

        if not bcrypt.checkpw(password, hashed):
            return False
        with self._lock:
            self._good.add(token)
        return True


def load_web_config(path: Path) -> WebConfig:
    """Reads and checks the file; every problem is a one-line ConfigError naming it."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"metrics.web_config {path}: {_one_line(exc)}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"metrics.web_config {path}: expected a mapping")
    unknown = set(document) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise ConfigError(f"metrics.web_config {path}: unknown key {sorted(unknown)[0]}")
    tls = document.get("tls_server_config")
    users = document.get("basic_auth_users") or {}
    return WebConfig(
        tls=_tls_context(tls, path) if tls else None,
        users=_users(users, path),
    )


def _tls_context(section: Any, path: Path) -> ssl.SSLContext:
    if not isinstance(section, dict) or set(section) - _TLS_KEYS:
        raise ConfigError(f"metrics.web_config {path}: tls_server_config takes {sorted(_TLS_KEYS)}")
    if not section.get("cert_file") or not section.get("key_file"):
        raise ConfigError(
            f"metrics.web_config {path}: tls_server_config needs cert_file and key_file"
        )
    folder = path.parent
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS.get(
        str(section.get("min_version", "TLS12")), ssl.TLSVersion.TLSv1_2
    )
    try:
        context.load_cert_chain(folder / section["cert_file"], folder / section["key_file"])
        if section.get("client_ca_file"):
            context.load_verify_locations(folder / section["client_ca_file"])
            mode = section.get("client_auth_type", "RequireAndVerifyClientCert")
            if mode not in _CLIENT_AUTH:
                raise ConfigError(f"metrics.web_config {path}: client_auth_type {mode} unknown")
            context.verify_mode = _CLIENT_AUTH[mode]
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"metrics.web_config {path}: {_one_line(exc)}") from exc
    return context


def _users(section: Any, path: Path) -> dict[str, bytes]:
    if not isinstance(section, dict):
        raise ConfigError(f"metrics.web_config {path}: basic_auth_users must map users to hashes")
    users = {}
    for user, hashed in section.items():
        text = str(hashed)
        if not text.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(
                f"metrics.web_config {path}: the password of {user} is not a bcrypt hash"
            )
        users[str(user)] = text.encode()
    return users


def _credentials(authorization: str | None) -> tuple[str | None, bytes | None]:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None, None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None, None
    return user.decode("utf-8", "replace"), password


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
