"""Bad input is rejected or bounded, never a crash, and never costs the good records around it."""

from __future__ import annotations

import gzip
import json

from helpers import corpus_record, run_records

CROSS = "awsdocs-iam-user-guide/01-assumerole-crossaccount-caller-side-IAMUser.json"


def good(event_id: str) -> dict:
    record = corpus_record(CROSS)
    record.update(eventID=event_id, sharedEventID=None)
    return record


def test_huge_user_agent_with_control_characters_is_bounded_and_printable() -> None:
    record = good("e-1")
    record["userAgent"] = "curl\x1b[31m\r\n<!channel>\u202e" + "A" * 200_000
    _, sink = run_records([record])
    (finding,) = sink.findings
    agent = finding.user_agent
    assert agent is not None and len(agent) <= 512
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in agent)
    assert "\u202e" not in agent and "\\u001b" in agent
    assert b"\n" not in finding.to_json()


def test_null_user_identity_is_processed_with_an_unknown_caller() -> None:
    record = good("e-2")
    record["userIdentity"] = None
    monitor, _ = run_records([record])
    assert monitor.pipeline.stats.processed == 1


def test_wrong_types_everywhere_do_not_crash() -> None:
    record = good("e-3")
    record.update(
        userIdentity="nope", requestParameters=[1], responseElements="x", resources={"a": 1}
    )
    later = good("e-4")
    monitor, sink = run_records([record, later])
    assert monitor.pipeline.stats.rejected == {"bad_field_type": 1}
    assert [f.event_id for f in sink.findings] == ["e-4"]


def test_time_that_is_not_a_time_loses_only_its_own_record() -> None:
    bad = good("e-5")
    bad["eventTime"] = "the day after tomorrow"
    payload = json.dumps({"Records": [good("e-6"), bad, good("e-7")]}).encode()
    monitor, sink = run_records([payload])
    assert monitor.pipeline.stats.rejected == {"bad_event_time": 1}
    assert [f.event_id for f in sink.findings] == ["e-6", "e-7"]


def test_garbage_between_good_lines() -> None:
    lines = [
        json.dumps(good("e-8")).encode(),
        b"\x00\xff garbage",
        json.dumps(good("e-9")).encode(),
    ]
    monitor, sink = run_records([b"\n".join(lines)])
    assert [f.event_id for f in sink.findings] == ["e-8", "e-9"]
    assert monitor.pipeline.stats.rejected == {"invalid_json": 1}


def test_truncated_gzip_message_then_a_good_one() -> None:
    data = gzip.compress(json.dumps({"Records": [good("e-10")]}).encode())
    monitor, sink = run_records([data[:40], json.dumps(good("e-11")).encode()])
    assert monitor.pipeline.stats.rejected == {"invalid_gzip": 1}
    assert [f.event_id for f in sink.findings] == ["e-11"]


def test_missing_event_id_is_rejected() -> None:
    record = good("x")
    del record["eventID"]
    monitor, _ = run_records([record])
    assert monitor.pipeline.stats.rejected == {"missing_field": 1}


def test_deeply_nested_and_huge_fields_are_survivable() -> None:
    record = good("e-12")
    nested: object = "x"
    for _ in range(200):
        nested = {"a": nested}
    record["requestParameters"]["roleSessionName"] = nested
    record["errorMessage"] = "E" * 1_000_000
    record["errorCode"] = None
    monitor, sink = run_records([record])
    assert monitor.pipeline.stats.processed == 1
    assert all(len(f.to_json()) < 20_000 for f in sink.findings)
