"""SQS bodies → announced S3 objects: every way AWS delivers them, and what is refused."""

from __future__ import annotations

import json

import pytest

from monitor.sources.notifications import BadNotification, ObjectRef, announced

KEY = (
    "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/11/01/"
    "111122223333_CloudTrail_us-east-1_20261101T0000Z_a.json.gz"
)


def _s3_event(key: str, name: str = "ObjectCreated:Put") -> dict[str, object]:
    return {"Records": [{"eventSource": "aws:s3", "eventName": name,
                         "s3": {"bucket": {"name": "trail"}, "object": {"key": key}}}]}  # fmt: skip


def test_a_direct_s3_event_with_its_url_encoded_key() -> None:
    body = json.dumps(_s3_event("AWSLogs/my+folder/a%3Db.json.gz"))
    assert announced(body) == [ObjectRef("trail", "AWSLogs/my folder/a=b.json.gz")]


def test_sns_wrapped_eventbridge_and_cloudtrail_notifications() -> None:
    wrapped = {"Type": "Notification", "Message": json.dumps(_s3_event(KEY))}
    bridge = {"source": "aws.s3", "detail-type": "Object Created",
              "detail": {"bucket": {"name": "trail"}, "object": {"key": KEY}}}  # fmt: skip
    trail = {"s3Bucket": "trail", "s3ObjectKey": [KEY, KEY + "2"]}
    assert announced(json.dumps(wrapped)) == [ObjectRef("trail", KEY)]
    assert announced(json.dumps(bridge)) == [ObjectRef("trail", KEY)]
    assert announced(json.dumps(trail)) == [ObjectRef("trail", KEY), ObjectRef("trail", KEY + "2")]


def test_test_events_and_other_event_types_announce_nothing() -> None:
    assert announced(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []
    assert announced(json.dumps(_s3_event(KEY, "ObjectRemoved:Delete"))) == []
    bridge = {"source": "aws.s3", "detail-type": "Object Deleted", "detail": {}}
    assert announced(json.dumps(bridge)) == []


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"Records": "nope"}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": ["x"]}]}),
        json.dumps({"s3Bucket": "trail", "s3ObjectKey": [1]}),
        json.dumps({"hello": "world"}),
        json.dumps({"Type": "Notification", "Message": "{" * 3}),
    ],
)
def test_unreadable_bodies_are_one_line_errors(body: str) -> None:
    with pytest.raises(BadNotification) as caught:
        announced(body)
    assert "\n" not in str(caught.value)


def test_sns_nested_without_end_is_refused() -> None:
    body = json.dumps(_s3_event(KEY))
    for _ in range(6):
        body = json.dumps({"Type": "Notification", "Message": body})
    with pytest.raises(BadNotification, match="too deeply"):
        announced(body)
