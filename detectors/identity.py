"""Stable keys for callers and sessions, the same whichever copy of a call was seen first.

The two copies of a cross-account call name the caller differently: the caller's copy has the
full ARN and access key, the role owner's copy only ``accountId`` and ``principalId``. State keys
built here prefer what both copies carry (the principal id), so a baseline learned from one copy
recognises the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.aws.principals import IdentityType
from monitor.intake.events import Caller, RoleEvent

#: The longest any STS credential lives (GetFederationToken / GetSessionToken: 36 hours).
MAX_SESSION = timedelta(hours=36)
#: What STS issues when the request names no duration.
DEFAULT_SESSION = timedelta(hours=1)


def principal_key(caller: Caller) -> str:
    """The caller as one identity, for windows and flags (a role *session* counts on its own).

    ``principalId`` is in both copies (``AROA…:session`` for role sessions, ``AIDA…`` for users);
    its account is prefixed because principal ids of federated users are not globally unique.
    """
    if caller.identity_type == IdentityType.AWS_SERVICE:
        return f"service:{caller.invoked_by or 'unknown'}"
    if caller.principal_id and caller.account_id:
        return f"{caller.account_id}:{caller.principal_id}"
    return caller.identifier


def stable_principal(caller: Caller) -> str:
    """The caller as a long-lived identity, for first-seen baselines and dedup keys.

    A role session's name often changes on every call (``botocore-session-1700000000``), so a
    session counts as its role, named by the role's unique id that both copies of a
    cross-account call carry.
    """
    if caller.is_role_session:
        return source_role(caller)
    return principal_key(caller)


def source_role(caller: Caller) -> str:
    """The role a session belongs to: ``account:AROA…`` when the principal id shows it (both
    copies carry it), else the session issuer's ARN."""
    if caller.principal_id and caller.principal_id.startswith("AROA"):
        role_id = caller.principal_id.split(":", 1)[0]
        return f"{caller.account_id or caller.session_issuer_account or '?'}:{role_id}"
    return caller.session_issuer_arn or caller.identifier


def caller_session_keys(caller: Caller) -> list[str]:
    """Keys under which the caller's own session may have been recorded, most exact first."""
    keys = []
    if caller.access_key_id:
        keys.append(f"key:{caller.access_key_id}")
    if caller.arn and ":assumed-role/" in caller.arn:
        keys.append(f"arn:{caller.arn}")
    if caller.is_role_session and caller.principal_id:
        keys.append(f"id:{caller.principal_id}")
    return keys


def issued_session_keys(event: RoleEvent) -> list[str]:
    """Keys of the session a successful call issued; later calls by it match
    :func:`caller_session_keys` (access key, assumed-role ARN, ``AROA…:session`` id)."""
    if not event.succeeded:
        return []
    keys = []
    if event.issued_access_key_id:
        keys.append(f"key:{event.issued_access_key_id}")
    if event.assumed_role_arn:
        keys.append(f"arn:{event.assumed_role_arn}")
    if event.assumed_role_id:
        keys.append(f"id:{event.assumed_role_id}")
    return keys


def session_expiry(event: RoleEvent) -> datetime:
    """When the issued credentials stop working, from the response or the requested duration.

    Bounded to :data:`MAX_SESSION`: documentation examples carry expirations years away from
    their event time, and state must not keep a session longer than STS could.
    """
    start = event.event_time
    expiration = event.credentials_expiration
    if expiration is not None and start < expiration <= start + MAX_SESSION:
        return expiration
    seconds = event.duration_seconds
    if seconds is not None and 0 < seconds <= MAX_SESSION.total_seconds():
        return start + timedelta(seconds=seconds)
    return start + DEFAULT_SESSION
