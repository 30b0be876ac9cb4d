"""Callers and times read once and remembered, without letting hostile values grow memory or
share an entry (issue 24); the event model is plain, immutable and slotted."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers import CORPUS

from monitor.intake import record_fields
from monitor.intake.envelopes import Record, decode
from monitor.intake.events import Caller, Federation, RoleEvent
from monitor.intake.record_fields import (
    ARN_LIMIT,
    CALLER_CACHE_SIZE,
    RecordRejected,
    parse_caller,
    parse_event_time,
)


def corpus_identities() -> Iterator[dict[str, Any]]:
    for path in sorted(CORPUS.rglob("*.json")):
        for item in decode(path.read_bytes()):
            if isinstance(item, Record) and isinstance(item.data.get("userIdentity"), dict):
                yield item.data["userIdentity"]


def uncached(identity: dict[str, Any]) -> Caller:
    """What parse_caller read before it remembered anything: every value read afresh."""
    record_fields._remembered_caller.cache_clear()
    return parse_caller(identity)


def test_a_remembered_caller_is_the_caller_read_afresh() -> None:
    identities = list(corpus_identities())
    assert len(identities) > 50
    fresh = [uncached(identity) for identity in identities]
    record_fields._remembered_caller.cache_clear()
    remembered = [parse_caller(identity) for identity in identities * 2]
    assert remembered == fresh * 2
    assert record_fields._remembered_caller.cache_info().hits >= len(identities)


def test_values_of_other_types_never_share_an_entry() -> None:
    """``1 == True == 1.0`` in a tuple key; each must still read as itself."""
    record_fields._remembered_caller.cache_clear()
    read = [parse_caller({"type": "IAMUser", "accountId": value}) for value in (1, True, 1.0, "1")]
    assert [caller.account_id for caller in read] == ["1", "True", "1.0", "1"]
    mfa = [
        parse_caller({"sessionContext": {"attributes": {"mfaAuthenticated": value}}})
        for value in ("true", True, 1)
    ]
    assert [caller.mfa_authenticated for caller in mfa] == [True, True, None]


def test_the_caller_cache_is_bounded_in_entries_and_in_key_size() -> None:
    record_fields._remembered_caller.cache_clear()
    for n in range(CALLER_CACHE_SIZE + 500):
        parse_caller({"type": "IAMUser", "arn": f"arn:aws:iam::111111111111:user/u{n}"})
    assert record_fields._remembered_caller.cache_info().currsize == CALLER_CACHE_SIZE
    record_fields._remembered_caller.cache_clear()
    huge = {"type": "IAMUser", "userName": "A" * 200_000, "arn": "arn:aws:iam::1:user/x\n"}
    caller = parse_caller(huge)
    assert record_fields._remembered_caller.cache_info().currsize == 0  # read, not kept
    assert caller.user_name is not None and len(caller.user_name) == ARN_LIMIT
    assert caller.arn == "arn:aws:iam::1:user/x\\u000a"
    nested = {"type": "IAMUser", "userName": ["a"], "accountId": {"b": 1}}
    assert parse_caller(nested).user_name is None
    assert record_fields._remembered_caller.cache_info().currsize == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01 10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T12:00:00+02:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        (" 2026-11-01T10:00:00Z ", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00Z" + " " * 100, datetime(2026, 11, 1, 10, tzinfo=UTC)),
    ],
)
def test_event_times_read_the_same_remembered_or_not(value: str, expected: datetime) -> None:
    first, second = parse_event_time(value), parse_event_time(value)
    assert first == second == expected and first.tzinfo is UTC


def test_a_bad_time_is_rejected_every_time_it_comes() -> None:
    for _ in range(2):  # a rejection is never remembered as a time
        with pytest.raises(RecordRejected) as caught:
            parse_event_time("the day after tomorrow")
        assert caught.value.reason == "bad_event_time"
    with pytest.raises(RecordRejected, match="eventTime is int"):
        parse_event_time(20261101)


def test_events_are_immutable_slotted_and_built_by_keyword() -> None:
    caller = Caller(identity_type="AWSService", invoked_by="lambda.amazonaws.com")
    event = RoleEvent(
        event_id="e1",
        event_time=datetime(2026, 11, 1, tzinfo=UTC),
        event_name="AssumeRole",
        caller=caller,
    )
    assert not hasattr(event, "__dict__") and not hasattr(caller, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.role_arn = "arn:aws:iam::111111111111:role/x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        caller.arn = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        RoleEvent(event_id="e1", colour="red")  # type: ignore[call-arg]
    other = RoleEvent(
        event_id="e2", event_time=event.event_time, event_name="AssumeRole", caller=caller
    )
    assert other.session_tags == {} and other.session_tags is not event.session_tags


def test_federation_evidence_names_only_what_is_known() -> None:
    federation = Federation(kind="web_identity", provider="token.actions.githubusercontent.com")
    assert federation.evidence() == {
        "kind": "web_identity",
        "provider": "token.actions.githubusercontent.com",
    }
    assert json.dumps(federation.evidence())  # evidence stays plain JSON
