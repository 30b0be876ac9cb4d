"""monitor.intake.scope: one definition of what is in scope, for parsed records and for raw bytes.

The byte pre-filter may only skip what parsing would have skipped without a rejection: that is
what keeps ``run`` (which uses it on every Kafka message) and ``replay`` equal. The property test
checks exactly that against the real decoder and normaliser.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payloads import RECORDS, encodings, envelopes

from monitor.intake.envelopes import Rejection, decode
from monitor.intake.scope import IN_SCOPE, in_scope, may_be_in_scope


def record(source: str, name: str) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventSource": source, "eventName": name}


@pytest.mark.parametrize(
    ("source", "name"), [(source, name) for source, names in IN_SCOPE.items() for name in names]
)
def test_every_in_scope_name_passes_both_doors(source: str, name: str) -> None:
    assert in_scope(record(source, name))
    assert may_be_in_scope(json.dumps(record(source, name)).encode())


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("sts.amazonaws.com", "GetCallerIdentity"),
        ("iam.amazonaws.com", "AttachRolePolicy"),
        ("organizations.amazonaws.com", "DescribeOrganization"),
        ("ec2.amazonaws.com", "AssumeRole"),
        (["sts.amazonaws.com"], "AssumeRole"),
        ("sts.amazonaws.com", {"AssumeRole": 1}),
    ],
)
def test_other_calls_are_out_of_scope(source: Any, name: Any) -> None:
    assert not in_scope({"eventSource": source, "eventName": name})


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (b'{"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}', False),
        (b'  [{"eventSource": "s3.amazonaws.com"}]\n', False),
        (b'{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}', True),
        (b'{"eventSource": "iam.amazonaws.com", "eventName": "CreateRole"}', True),
        (b'{"eventSource": "organizations.amazonaws.com"}', True),
        (gzip.compress(b'{"eventSource": "ec2.amazonaws.com"}'), True),
        (b"eyJldmVudFNvdXJjZSI6ICJlYzIuYW1hem9uYXdzLmNvbSJ9", True),  # base64: decode it
        (b"not json", True),  # garbage must reach the dead letters
        (b'{"eventSource": "ec2.amazonaws.com", "eventName": "Ru', True),  # cut short: rejected
        (b'{"eventSource": "sts\\u002eamazonaws.com", "eventName": "AssumeRole"}', True),
        # The commonest STS call by far names the STS source, and is skipped unparsed:
        (b'{"eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity"}', False),
        (b'{"eventName":"GetCallerIdentity" ,\n "eventSource" :"sts.amazonaws.com"}', False),
        # ...but not when the text holds more than one record, or names are not plain strings:
        (b'[{"eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity"}, {}]', True),
        (
            b'{"Records": [{"eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity"},'
            b' {"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole"}]}',
            True,
        ),
        (b'{"eventSource": "sts.amazonaws.com", "eventName": ["GetCallerIdentity"]}', True),
        # CloudWatch Logs through Lambda: the record is in base64 gzip, out of sight.
        (b'{"awslogs": {"data": "' + base64.b64encode(gzip.compress(b"{}")) + b'"}}', True),
    ],
)
def test_pre_filter(value: bytes, parsed: bool) -> None:
    assert may_be_in_scope(value) is parsed


@settings(max_examples=200, deadline=None)
@given(st.lists(RECORDS, max_size=4), st.booleans())
def test_a_skipped_message_holds_nothing_in_scope_and_nothing_rejected(
    records: list[dict[str, Any]], as_log_file: bool
) -> None:
    for document in envelopes(records, as_log_file):
        for payload in encodings(document):
            if may_be_in_scope(payload):
                continue
            decoded = list(decode(payload))
            assert not any(isinstance(item, Rejection) for item in decoded), payload
            assert not any(in_scope(item.data) for item in decoded), payload  # type: ignore[union-attr]


def test_a_record_in_a_lambda_subscription_event_is_read_not_skipped() -> None:
    """CloudWatch Logs hands a Lambda ``{"awslogs": {"data": base64(gzip(...))}}``: nothing in
    scope shows in its text, and the pre-filter once skipped it whole, losing the assumption."""
    from kafka_stream import caller_copy, cloudwatch_logs, stream_settings

    from monitor.service.app import build_monitor

    data = base64.b64encode(cloudwatch_logs([caller_copy(1)])).decode()
    monitor = build_monitor(stream_settings(), state_path=":memory:")
    processed = monitor.pipeline.process(json.dumps({"awslogs": {"data": data}}).encode())
    assert monitor.pipeline.stats.processed == 1
    assert [f.detector for f in processed.findings] == ["external_account"]
    monitor.close()
