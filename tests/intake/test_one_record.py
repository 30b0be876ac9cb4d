"""monitor.intake.front_door: a message that is one record is parsed once, at the door.

``run`` and ``replay`` count, skip and dead-letter by what the door says, so it must say what
the decoder and the byte pre-filter said before it: the same records, the same rejections, and
a skipped message only where nothing in scope and nothing to reject was inside.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from payloads import RECORDS, encodings, envelopes

from monitor.intake.bounds import Limits, current, set_limits
from monitor.intake.envelopes import Decoded, Record, Rejection, decode
from monitor.intake.front_door import ONE_RECORD_BYTES, one_record, records_of
from monitor.intake.ocsf import OCSF_API_ACTIVITY
from monitor.intake.scope import in_scope, may_be_in_scope

#: Keys of other envelopes on a record: the decoder reads such a document as that envelope.
_DISGUISES = st.sampled_from(
    [
        {},
        {"Records": []},
        {"Records": "not a list"},
        {"awslogs": {}},
        {"logEvents": [], "messageType": "DATA_MESSAGE"},
        {"class_uid": OCSF_API_ACTIVITY},
        {"detail-type": "AWS API Call via CloudTrail"},
        {"detail-type": "AWS API Call via CloudTrail", "detail": 1},
        {"eventVersion": "1.08"},
    ]
)


def _before(payload: bytes) -> list[Decoded] | None:
    """What the door said before it parsed: the byte pre-filter, then the decoder."""
    return list(decode(payload)) if may_be_in_scope(payload) else None


def _now(payload: bytes) -> list[Decoded] | None:
    decoded = records_of(payload)
    return None if decoded is None else list(decoded)


def _same_outcome(payload: bytes) -> None:
    now, before = _now(payload), _before(payload)
    if now is None and before is None:
        return
    if now is None:  # skipped now where it was read before: it held nothing that counts
        assert before is not None
        assert not any(isinstance(item, Rejection) for item in before), payload
        assert not any(in_scope(item.data) for item in before), payload  # type: ignore[union-attr]
        assert len(before) == 1, payload  # counted as one skipped record, as before
        return
    assert now == (before if before is not None else list(decode(payload))), payload
    if before is None:  # read now where it was skipped unparsed: still nothing that counts
        assert not any(isinstance(item, Rejection) for item in now), payload
        assert not any(in_scope(item.data) for item in now), payload  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORDS, max_size=4), st.booleans(), _DISGUISES)
def test_the_door_reads_every_message_as_before(
    records: list[dict[str, Any]], as_log_file: bool, disguise: dict[str, Any]
) -> None:
    for document in [*envelopes(records, as_log_file), *({**r, **disguise} for r in records)]:
        for payload in encodings(document):
            _same_outcome(payload)
            one = one_record(payload)
            if one is not None:
                assert list(decode(payload)) == [one]


def _corpus_payloads() -> Iterator[bytes]:
    """Every corpus file as it is, and each record of those that parse alone, indented and in
    an EventBridge event."""
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md"):
        raw = path.read_bytes()
        yield raw
        try:
            data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        except ValueError:
            continue  # documentation text around its records: the file alone is enough
        records = data.get("Records", [data]) if isinstance(data, dict) else data
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict):
                yield json.dumps(record).encode()
                yield json.dumps(record, indent=2).encode()
                event = {"detail-type": "AWS API Call via CloudTrail", "detail": record}
                yield json.dumps(event).encode()


def test_every_corpus_record_is_read_as_before() -> None:
    payloads = list(_corpus_payloads())
    taken = [payload for payload in payloads if one_record(payload) is not None]
    assert len(payloads) > 100 and len(taken) > 50
    for payload in payloads:
        _same_outcome(payload)


def test_a_plain_record_and_an_eventbridge_event_are_taken_parsed() -> None:
    assume = {"eventVersion": "1.08", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}
    assert one_record(b"  " + json.dumps(assume).encode() + b"\n") == Record(assume, "bare")
    event = {"detail-type": "AWS API Call via CloudTrail", "detail": assume}
    assert one_record(json.dumps(event).encode()) == Record(assume, "eventbridge")
    other = {**assume, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}
    assert records_of(json.dumps(other).encode()) is None  # parsed, out of scope: skipped


@pytest.mark.parametrize(
    "payload",
    [
        gzip.compress(b'{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}'),
        b'{"eventSource": "sts.amazonaws.com",\n "eventName": "AssumeRole"}',
        b'[{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}]',
        b'{"Records": [{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}]}',
        b'{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"',  # cut short
        b'{"detail-type": "AWS API Call via CloudTrail", "detail": "AssumeRole"}',
        b'{"class_uid": 6003, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}',
    ],
)
def test_anything_but_one_plain_record_is_left_to_the_decoder(payload: bytes) -> None:
    assert one_record(payload) is None


def test_a_record_a_limit_could_apply_to_is_left_to_the_decoder() -> None:
    """Past two bytes a value of ``max_elements`` the decoder counts values before parsing:
    the door must not parse what the decoder would refuse to."""
    saved = current()
    set_limits(Limits(**{**saved.__dict__, "max_elements": 1000}))
    try:
        values = ",".join(["1"] * 1500)
        big = f'{{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "v": [{values}]}}'
        assert one_record(big.encode()) is None
        [rejection] = _now(big.encode()) or []
        assert isinstance(rejection, Rejection) and rejection.reason == "too_many_elements"
    finally:
        set_limits(saved)


@pytest.mark.parametrize(
    ("disguise", "envelope"),
    [
        ({"Records": [{"eventName": "RunInstances"}]}, "log_file"),
        ({"logEvents": [], "messageType": "CONTROL_MESSAGE"}, None),
        ({"awslogs": {"data": ""}}, None),
        ({"class_uid": OCSF_API_ACTIVITY}, "ocsf"),
    ],
)
def test_a_record_s_keys_do_not_hide_another_envelope(
    disguise: dict[str, Any], envelope: str | None
) -> None:
    """A log file (or CloudWatch payload, or OCSF record) that also carries a record's keys is
    read as what it is, at the door as in the decoder: its own records, not itself."""
    document = {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", **disguise}
    payload = json.dumps(document).encode()
    assert one_record(payload) is None
    read = [item.envelope for item in decode(payload) if isinstance(item, Record)]
    assert read == ([envelope] if envelope else [])


def test_a_large_message_is_left_to_the_byte_pre_filter() -> None:
    """A record is a few KB: a large message of another service is still skipped by the byte
    pre-filter, unparsed, as before, not built into a document at the door."""
    large = {"eventSource": "ec2.amazonaws.com", "eventName": "X", "v": ["a"] * 20_000}
    payload = json.dumps(large).encode()
    assert len(payload) > ONE_RECORD_BYTES
    assert one_record(payload) is None
    assert records_of(payload) is None
