"""Role metadata from live IAM: ``get_role`` + ``list_role_tags`` through a read role per account.

Why the caching is shaped this way:

- a TTL per role (``inventory.iam.ttl``): trust policies change rarely, and changes that arrive on
  the input stream are applied at once by the catalog's overlay, so the TTL only bounds how long an
  out-of-band change goes unseen;
- a shorter negative TTL for roles IAM does not have (``negative_ttl``), so a role created after
  the lookup is found soon;
- negative answers are attacker-chosen: every role name in a failed AssumeRole is looked up. So
  at most ``negative_cache_size`` of them are kept (the oldest forgotten first), and each
  account may answer "no such role" at most ``not_found_per_minute`` times a minute; past that,
  unknown roles of the account answer ``unavailable`` without a call (outcome ``limited``);
- a per-account failure backoff (``failure_backoff``): when IAM is unreachable, throttling past
  the retries, or denying the read role, every event of that account would otherwise wait out the
  timeouts again. Meanwhile lookups answer ``unavailable`` and events keep flowing.

Lookups run on the pipeline thread; ``max_concurrency`` bounds the calls in flight, which matters
for :meth:`IamSource.roles` (the posture report and cache warm-up list every role in parallel).

Metric ``enrichment_lookups{source="iam"}`` outcomes: ``hit`` (found in the cache), ``miss``
(found by calling IAM), ``not_found`` (IAM has no such role, live or negatively cached),
``error`` and ``throttled`` (the call failed, or the account is backing off after such a failure),
``limited`` (not asked: the account's not-found budget for this minute is spent).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.aws.arns import split_role_arn
from monitor.aws.policy import policy_document
from monitor.config.settings import IamConfig
from monitor.inventory.aws_sessions import (
    AWS_ERRORS,
    AccountSessions,
    Clock,
    error_code,
    failure_kind,
)
from monitor.inventory.catalog import LookupStatus, RoleInfo, RoleLookup
from monitor.inventory.snapshot import tags_to_dict
from monitor.metrics import Metrics

log = logging.getLogger(__name__)

SOURCE = "iam"
OUTCOMES = ("hit", "miss", "not_found", "error", "throttled", "limited")
#: The window of ``not_found_per_minute``.
NOT_FOUND_WINDOW_S = 60.0
_UNAVAILABLE = RoleLookup(LookupStatus.UNAVAILABLE, source=SOURCE)
_UNKNOWN = RoleLookup(LookupStatus.UNKNOWN)


@dataclass(frozen=True)
class _Entry:
    lookup: RoleLookup
    expires: float


@dataclass(frozen=True)
class _Failure:
    kind: str
    retry_at: float


class IamSource:
    """A :class:`~monitor.inventory.catalog.RoleSource` backed by live IAM calls."""

    name = SOURCE

    def __init__(
        self,
        config: IamConfig,
        *,
        accounts: Collection[str] = (),
        metrics: Metrics | None = None,
        clock: Clock = time.time,
        sessions: AccountSessions | None = None,
    ) -> None:
        """``accounts`` limits which accounts are asked (empty: any account a role is in)."""
        self._config = config
        self._accounts = frozenset(accounts)
        self._metrics = metrics
        self._clock = clock
        self._sessions = sessions or AccountSessions(config, clock)
        self._gate = threading.BoundedSemaphore(config.max_concurrency)
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._failures: dict[str, _Failure] = {}
        #: Keys of negative entries in ``_cache``, oldest first (bounded eviction).
        self._negatives: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: Per account: when IAM recently answered "no such role" (rate limit).
        self._not_found: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        if metrics is not None:
            for outcome in OUTCOMES:
                metrics.enrichment_lookups.labels(SOURCE, outcome)

    # -- RoleSource ---------------------------------------------------------------------------

    def lookup(self, account: str, role_name: str) -> RoleLookup:
        if self._accounts and account not in self._accounts:
            return _UNKNOWN
        now = self._clock()
        cached = self.cached(account, role_name, now)
        if cached is not None:
            self._count("hit" if cached.status is LookupStatus.FOUND else "not_found")
            return cached
        failure = self._failures.get(account)
        if failure is not None and failure.retry_at > now:
            self._count(failure.kind)
            return _UNAVAILABLE
        if self._over_budget(account, now):
            self._count("limited")
            return _UNAVAILABLE
        return self._fetch(account, role_name)

    def _over_budget(self, account: str, now: float) -> bool:
        """True while the account used up its not-found answers of the last minute."""
        recent = self._not_found.get(account)
        if not recent:
            return False
        while recent and recent[0] <= now - NOT_FOUND_WINDOW_S:
            recent.popleft()
        return len(recent) >= self._config.not_found_per_minute

    def roles(self) -> Iterable[RoleInfo]:
        """Every role of every known account, listed live (and cached: this warms the cache)."""
        if not self._accounts:
            return []
        workers = min(self._config.max_concurrency, len(self._accounts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iam-list") as pool:
            listed = list(pool.map(self._account_roles, sorted(self._accounts)))
        return [role for roles in listed for role in roles]

    # -- cache control (used by the catalog for changes seen on the stream) -------------------

    def cached(self, account: str, role_name: str, now: float | None = None) -> RoleLookup | None:
        """The cached answer when still fresh; never calls AWS."""
        entry = self._cache.get((account, role_name.lower()))
        moment = self._clock() if now is None else now
        return entry.lookup if entry is not None and entry.expires > moment else None

    def invalidate(self, account: str, role_name: str) -> None:
        """Forget one role, so its next lookup asks IAM again."""
        with self._lock:
            self._cache.pop((account, role_name.lower()), None)

    # -- internals ----------------------------------------------------------------------------

    def _fetch(self, account: str, role_name: str) -> RoleLookup:
        try:
            role = self._get_role(account, role_name)
        except AWS_ERRORS as exc:
            if error_code(exc) == "NoSuchEntity":
                return self._remember_missing(account, role_name)
            return self._failed(account, exc)
        self._remember(role)
        self._count("miss")
        return RoleLookup(LookupStatus.FOUND, role, SOURCE)

    def _get_role(self, account: str, role_name: str) -> RoleInfo:
        client = self._sessions.iam(account)
        with self._gate:
            item = client.get_role(RoleName=role_name)["Role"]
        return role_info(item, self._tags(client, item["RoleName"]))

    def _tags(self, client: Any, role_name: str) -> dict[str, str]:
        """Every tag (``list_role_tags`` pages; ``get_role``'s copy is not guaranteed complete)."""
        tags: list[Any] = []
        paginator = client.get_paginator("list_role_tags")
        with self._gate:
            for page in paginator.paginate(RoleName=role_name):
                tags.extend(page.get("Tags") or [])
        return tags_to_dict(tags)

    def _account_roles(self, account: str) -> list[RoleInfo]:
        try:
            client = self._sessions.iam(account)
            items: list[Any] = []
            with self._gate:
                for page in client.get_paginator("list_roles").paginate():
                    items.extend(page.get("Roles") or [])
            roles = [role_info(item, self._tags(client, item["RoleName"])) for item in items]
        except AWS_ERRORS as exc:
            self._failed(account, exc)
            return []
        for role in roles:
            self._remember(role)
        return roles

    def _remember(self, role: RoleInfo) -> None:
        entry = _Entry(RoleLookup(LookupStatus.FOUND, role, SOURCE), self._expiry(False))
        key = (role.account, role.name.lower())
        with self._lock:
            self._cache[key] = entry
            self._negatives.pop(key, None)

    def _remember_missing(self, account: str, role_name: str) -> RoleLookup:
        lookup = RoleLookup(LookupStatus.NOT_FOUND, source=SOURCE)
        key = (account, role_name.lower())
        limit = self._config.negative_cache_size
        with self._lock:
            self._cache[key] = _Entry(lookup, self._expiry(True))
            self._negatives[key] = None
            self._negatives.move_to_end(key)
            while len(self._negatives) > limit:
                old, _ = self._negatives.popitem(last=False)
                entry = self._cache.get(old)
                if entry is not None and entry.lookup.status is LookupStatus.NOT_FOUND:
                    del self._cache[old]
            self._not_found.setdefault(account, deque()).append(self._clock())
        self._count("not_found")
        return lookup

    def _failed(self, account: str, exc: BaseException) -> RoleLookup:
        kind = failure_kind(exc)
        retry_at = self._clock() + self._config.failure_backoff.total_seconds()
        with self._lock:
            self._failures[account] = _Failure(kind, retry_at)
        if error_code(exc) in ("AccessDenied", "ExpiredToken", "InvalidClientTokenId"):
            self._sessions.forget(account)
        log.warning("IAM lookup in account %s failed (%s): %s", account, kind, exc)
        self._count(kind)
        return _UNAVAILABLE

    def _expiry(self, negative: bool) -> float:
        ttl = self._config.negative_ttl if negative else self._config.ttl
        return self._clock() + ttl.total_seconds()

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.enrichment_lookups.labels(SOURCE, outcome).inc()


def role_info(item: dict[str, Any], tags: dict[str, str]) -> RoleInfo:
    """A ``get_role``/``list_roles`` item as RoleInfo (the policy may be URL-encoded text)."""
    arn = str(item["Arn"])
    account, name = split_role_arn(arn) or ("", str(item.get("RoleName") or ""))
    created = item.get("CreateDate")
    return RoleInfo(
        arn=arn,
        account=account,
        name=str(item.get("RoleName") or name),
        source=SOURCE,
        path=str(item.get("Path") or "/"),
        tags=tags,
        trust_policy=policy_document(item.get("AssumeRolePolicyDocument")),
        create_date=created.isoformat() if isinstance(created, datetime) else created,
    )
