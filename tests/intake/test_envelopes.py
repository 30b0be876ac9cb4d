"""Every envelope of the input contract is recognised without configuration."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from helpers import CORPUS, corpus_record

from monitor.intake.envelopes import Record, Rejection, decode

ASSUME = "cloud-snitch/TestReport_AWSAccountEvent.json"


def records(data: bytes) -> list[Record]:
    return [item for item in decode(data) if isinstance(item, Record)]


def rejections(data: bytes) -> list[Rejection]:
    return [item for item in decode(data) if isinstance(item, Rejection)]


def test_bare_record() -> None:
    found = records((CORPUS / ASSUME).read_bytes())
    assert [(r.envelope, r.data["eventName"]) for r in found] == [("bare", "AssumeRole")]


def test_real_gzip_log_file_from_an_org_trail() -> None:
    path = next((CORPUS / "cloud-snitch").glob("*.json.gz"))
    found = records(path.read_bytes())
    assert len(found) == 20
    assert {r.envelope for r in found} == {"log_file"}
    assert sum(r.data["eventSource"] == "sts.amazonaws.com" for r in found) == 2


def test_json_array_of_records() -> None:
    path = CORPUS / "stratus-red-team/aws.persistence.sts-federation-token.json"
    found = records(path.read_bytes())
    assert [r.data["eventName"] for r in found] == ["GetFederationToken", "GetCallerIdentity"]


def test_eventbridge_event() -> None:
    path = CORPUS / "curbengh-aws-scripts"
    event = json.loads(next(path.glob("*.json")).read_text())
    event["detail"] = corpus_record(ASSUME)
    found = records(json.dumps(event).encode())
    assert [(r.envelope, r.data["eventID"]) for r in found] == [
        ("eventbridge", "1c94cbc7-9c84-3f25-9481-d5172c6ee15e")
    ]


def _cloudwatch_payload(messages: list[str]) -> bytes:
    path = next((CORPUS / "awsdocs-cloudwatch-logs-user-guide").glob("*.json"))
    payload = json.loads(path.read_text())
    payload["logEvents"] = [
        {"id": str(i), "timestamp": 0, "message": message} for i, message in enumerate(messages)
    ]
    return gzip.compress(json.dumps(payload).encode())


@pytest.mark.parametrize("encode", [lambda b: b, base64.b64encode], ids=["raw", "base64"])
def test_cloudwatch_logs_subscription_payload(encode: object) -> None:
    record = json.dumps(corpus_record(ASSUME))
    data = encode(_cloudwatch_payload([record, record]))  # type: ignore[operator]
    found = records(data)
    assert [r.envelope for r in found] == ["cloudwatch_logs", "cloudwatch_logs"]


def test_documented_cloudwatch_example_is_rejected_per_message() -> None:
    # The AWS docs truncate each message: none crash the rest, and the three of one reason are
    # one rejection saying how many (issue 21: never one per entry).
    path = next((CORPUS / "awsdocs-cloudwatch-logs-user-guide").glob("*.json"))
    (found,) = rejections(path.read_bytes())
    assert found.reason == "invalid_json"
    assert found.detail.startswith("3 logEvents entries rejected, the first: logEvents[0]")


def test_cloudwatch_control_message_is_silently_ignored() -> None:
    data = json.dumps({"messageType": "CONTROL_MESSAGE", "logEvents": []}).encode()
    assert list(decode(data)) == []


def test_ocsf_api_activity_is_mapped_back_to_cloudtrail() -> None:
    ocsf = {
        "class_uid": 6003,
        "category_uid": 6,
        "time": 1742344220000,
        "api": {
            "operation": "AssumeRole",
            "service": {"name": "sts.amazonaws.com"},
            "request": {
                "uid": "req-1",
                "data": json.dumps({"roleArn": "arn:aws:iam::123412341234:role/R"}),
            },
        },
        "actor": {
            "user": {
                "type": "IAMUser",
                "uid": "arn:aws:iam::999988887777:user/u",
                "account": {"uid": "999988887777"},
            },
            "session": {"is_mfa": True},
        },
        "src_endpoint": {"ip": "203.0.113.5"},
        "http_request": {"user_agent": "aws-cli/2"},
        "cloud": {"region": "us-east-1"},
        "metadata": {"uid": "evt-1", "product": {"version": "1.09"}},
    }
    (found,) = records(json.dumps(ocsf).encode())
    assert found.envelope == "ocsf"
    assert found.data["eventTime"] == "2025-03-19T00:30:20Z"
    assert found.data["requestParameters"]["roleArn"] == "arn:aws:iam::123412341234:role/R"
    assert found.data["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"


def test_newline_delimited_envelopes_reject_bad_lines_alone() -> None:
    good = json.dumps(corpus_record(ASSUME)).encode()
    data = b"\n".join([good, b"{not json", good, b"[1, 2]"])
    items = list(decode(data))
    assert [type(i).__name__ for i in items] == [
        "Record",
        "Rejection",
        "Record",
        "Rejection",
    ]
    assert [i.reason for i in items if isinstance(i, Rejection)] == [
        "invalid_json",
        "not_an_object",
    ]
    assert items[-1].detail.startswith("2 log_file entries rejected")


def test_multi_member_gzip_is_read_whole() -> None:
    # gzip writers may append members; the document spans them.
    text = json.dumps({"Records": [corpus_record(ASSUME)] * 2}).encode()
    half = len(text) // 2
    assert len(records(gzip.compress(text[:half]) + gzip.compress(text[half:]))) == 2


def test_truncated_gzip_is_rejected_with_its_reason() -> None:
    data = gzip.compress(json.dumps({"Records": [corpus_record(ASSUME)]}).encode())
    (rejection,) = rejections(data[: len(data) // 2])
    assert rejection.reason == "invalid_gzip"
    assert "truncated" in rejection.detail


def test_gzip_bomb_is_refused() -> None:
    from monitor.intake.envelopes import gunzip

    with pytest.raises(ValueError, match="expands beyond"):
        gunzip(gzip.compress(b" " * 2_000_000), limit=1_000_000)


def test_documentation_examples_that_are_not_json_are_rejected_cleanly() -> None:
    for path in (CORPUS / "awsdocs-iam-user-guide").glob("*INVALIDJSON.json"):
        found = list(decode(path.read_bytes()))
        assert len(found) == 1, path.name
        assert isinstance(found[0], Rejection) and found[0].reason == "invalid_json"


def test_unknown_envelope_names_its_keys() -> None:
    (rejection,) = rejections(b'{"hello": "world"}')
    assert rejection.reason == "unknown_envelope" and "hello" in rejection.detail
