"""Role chains: which session a role session came from, followed across events in state.

Each successful assumption issues a session; STS names it three ways (the temporary access key,
the ``assumed-role`` ARN, the ``AROA…:session`` id) and later calls by that session show the
same names as their caller (the owner's copy of a cross-account call only the id). The chain of
the issued session (depth, accounts visited, the events that built it) is kept under every name
until its credentials expire, so the next hop finds its parent whichever copy it arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors import jsontext
from detectors.identity import caller_session_keys, issued_session_keys, session_expiry
from monitor.intake.events import RoleEvent
from monitor.state.documents import Codec
from monitor.state.store import StateStore

NAMESPACE = "session_chain"
#: Chains longer than this keep their newest entries (depth still counts every hop).
MAX_PATH = 16
ISSUING = frozenset({"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"})


@dataclass(frozen=True, slots=True)
class Chain:
    """A session's ancestry: ``depth`` 1 is a session issued to a user, IdP or service."""

    depth: int
    #: Accounts the chain went through, oldest first, consecutive repeats collapsed.
    accounts: tuple[str, ...]
    roles: tuple[str, ...]
    event_ids: tuple[str, ...]
    #: False when the first session was issued before the monitor saw it.
    complete: bool = True

    @property
    def origin(self) -> str:
        return self.event_ids[0] if self.event_ids else "unknown"

    def to_json(self) -> str:
        # Spelled out: dataclasses.asdict deep-copies every tuple, and this runs per assumption.
        return jsontext.dumps(
            {
                "depth": self.depth,
                "accounts": list(self.accounts),
                "roles": list(self.roles),
                "event_ids": list(self.event_ids),
                "complete": self.complete,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Chain:
        data = jsontext.loads(text)
        return cls(
            depth=int(data["depth"]),
            accounts=tuple(data["accounts"]),
            roles=tuple(data["roles"]),
            event_ids=tuple(data["event_ids"]),
            complete=bool(data["complete"]),
        )


#: Chains are kept decoded in the state's cache (one decode per session, one encode per
#: checkpoint): see monitor/state/documents.py.
CHAIN: Codec[Chain] = Codec(Chain.to_json, Chain.from_json)


@dataclass(frozen=True)
class Hop:
    """One chaining step: the caller's chain (``parent``) and the issued session's chain."""

    parent: Chain
    chain: Chain
    role_account: str


def parent_chain(event: RoleEvent, state: StateStore) -> Chain:
    """The caller's chain: recorded, or started here when the caller is no role session."""
    caller = event.caller
    if caller.is_role_session:
        for key in caller_session_keys(caller):
            chain = state.recall_doc(NAMESPACE, key, event.event_time, CHAIN)
            if chain is None:
                continue
            if chain.event_ids and chain.event_ids[-1] == event.event_id:
                continue  # our own issued session (a role re-assuming itself, same name)
            return chain
        account = caller.account_id or caller.session_issuer_account
        return Chain(1, (account,) if account else (), (), (), complete=False)
    account = event.principal_account
    return Chain(0, (account,) if account else (), (), ())


def follow(event: RoleEvent, state: StateStore) -> Hop | None:
    """The hop a successful assumption makes, recorded under the issued session's names.

    Idempotent: several detectors may call it for the same event and get the same answer; the
    answer for the latest event is kept, so the second caller costs no state round trips.
    """
    global _last
    last = _last
    if last is not None and last[0] is event and last[1] is state:
        return last[2]
    hop = _follow(event, state)
    _last = (event, state, hop)  # strong references: an `is` match is always the same event
    return hop


_last: tuple[RoleEvent, StateStore, Hop | None] | None = None


def _follow(event: RoleEvent, state: StateStore) -> Hop | None:
    if event.event_name not in ISSUING or not event.succeeded or not event.role_account:
        return None
    parent = parent_chain(event, state)
    chain = _extend(parent, event)
    state.remember_doc(NAMESPACE, issued_session_keys(event), chain, session_expiry(event), CHAIN)
    return Hop(parent, chain, event.role_account)


def _extend(parent: Chain, event: RoleEvent) -> Chain:
    account = event.role_account or "?"
    accounts = parent.accounts
    if not accounts or accounts[-1] != account:
        accounts = (*accounts, account)
    return Chain(
        depth=parent.depth + 1,
        accounts=accounts[-MAX_PATH:],
        roles=(*parent.roles, event.role_arn or "?")[-MAX_PATH:],
        event_ids=_bounded((*parent.event_ids, event.event_id)),
        complete=parent.complete,
    )


def _bounded(ids: tuple[str, ...]) -> tuple[str, ...]:
    """The newest ids, always keeping the first (the chain's origin, its dedup key)."""
    return ids if len(ids) <= MAX_PATH else (ids[0], *ids[-(MAX_PATH - 1) :])


def returns_to_earlier_account(hop: Hop) -> bool:
    """The hop leaves its current account for one the chain already went through."""
    earlier = hop.parent.accounts
    return bool(earlier) and hop.role_account != earlier[-1] and hop.role_account in earlier[:-1]
