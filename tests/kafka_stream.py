"""A mixed CloudTrail stream for the Kafka tests, and the findings it must produce.

Built from real records in tests/fixtures/corpus (the IAM user guide's cross-account pair,
Stratus Red Team's unrelated EC2 calls), varied so that every STS message yields findings of its
own: each synthetic caller is a different IAM user of an account outside the organization, so
``external_account`` fires once per assumption and no two findings share a dedup key. What the
service must deliver is computed by running the same messages through an in-process pipeline,
so the tests never hard-code detector output.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import CORPUS, corpus_record, settings, varied

from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.sinks.delivery import Delivery, finding_id

ORG_ACCOUNT = "111122223333"
OUTSIDER = "777788889999"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Message:
    """One Kafka message: key (None = unkeyed) and raw value."""

    key: bytes | None
    value: bytes


def caller_copy(n: int) -> dict[str, Any]:
    """Outsider user ``n`` assumes a role in the organization (the caller account's copy)."""
    user = f"Outsider{n:05d}"
    return varied(
        corpus_record("awsdocs-iam-user-guide/01-assumerole-crossaccount-caller-side-IAMUser.json"),
        userIdentity__principalId=f"AIDAOUTSIDER{n:08d}",
        userIdentity__arn=f"arn:aws:iam::{OUTSIDER}:user/{user}",
        userIdentity__userName=user,
        eventTime=(START + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        eventID=f"00000000-0000-4000-8000-{n:012d}",
        sharedEventID=f"11111111-0000-4000-8000-{n:012d}",
        requestID=f"22222222-0000-4000-8000-{n:012d}",
        requestParameters__roleSessionName=user,
        # Own credentials per caller: no detector may link one caller's session to another's.
        userIdentity__accessKeyId=f"AKIAOUTSIDER{n:08d}",
        responseElements__credentials__accessKeyId=f"ASIAOUTSIDER{n:08d}",
        responseElements__assumedRoleUser__assumedRoleId=f"AROAOUTSIDEREXAMPLE:{user}",
        responseElements__assumedRoleUser__arn=(
            f"arn:aws:sts::{ORG_ACCOUNT}:assumed-role/EC2-dev/{user}"
        ),
    )


def owner_copy(n: int) -> dict[str, Any]:
    """The same call as the role's account logs it: the caller is only an account id."""
    caller = caller_copy(n)
    record = corpus_record(
        "awsdocs-iam-user-guide/02-assumerole-crossaccount-role-owner-side-AWSAccount.json"
    )
    record.update(
        eventTime=caller["eventTime"],
        sharedEventID=caller["sharedEventID"],
        eventID=f"33333333-0000-4000-8000-{n:012d}",
        requestParameters=caller["requestParameters"],
        responseElements=caller["responseElements"],
    )
    record["userIdentity"]["principalId"] = caller["userIdentity"]["principalId"]
    return record


def noise() -> list[dict[str, Any]]:
    """Real calls to other services: out of scope, skipped by the byte-level pre-filter."""
    records = json.loads(
        (CORPUS / "stratus-red-team/aws.discovery.ec2-download-user-data.json").read_text()
    )
    return [r for r in records if r["eventSource"] != "sts.amazonaws.com"]


def ocsf(n: int) -> dict[str, Any]:
    """Caller ``n``'s assumption as Security Lake writes it (OCSF API Activity)."""
    record = caller_copy(n)
    identity = record["userIdentity"]
    when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return {
        "class_uid": 6003,
        "time": int(when.timestamp() * 1000),
        "api": {
            "service": {"name": "sts.amazonaws.com"},
            "operation": "AssumeRole",
            "request": {"uid": record["requestID"], "data": record["requestParameters"]},
            "response": {"data": record["responseElements"]},
        },
        "actor": {
            "user": {
                "type": "IAMUser",
                "uid": identity["arn"],
                "uid_alt": identity["principalId"],
                "account": {"uid": OUTSIDER},
                "name": identity["userName"],
            }
        },
        "metadata": {"uid": record["eventID"], "product": {"version": "1.08"}},
        "cloud": {"region": "us-east-2", "account": {"uid": ORG_ACCOUNT}},
        "src_endpoint": {"ip": "192.0.2.101"},
        "http_request": {"user_agent": "aws-cli/2.15"},
        "resources": [
            {"uid": record["requestParameters"]["roleArn"], "type": "AWS::IAM::Role"},
        ],
        "unmapped": {"sharedEventID": record["sharedEventID"]},
    }


def cloudwatch_logs(records: list[dict[str, Any]]) -> bytes:
    """A CloudWatch Logs subscription payload (gzip'd), one log event per record."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": ORG_ACCOUNT,
        "logGroup": "CloudTrail/logs",
        "logStream": f"{ORG_ACCOUNT}_CloudTrail_us-east-2",
        "subscriptionFilters": ["Destination"],
        "logEvents": [
            {"id": str(i), "timestamp": 0, "message": json.dumps(r)} for i, r in enumerate(records)
        ],
    }
    return gzip.compress(json.dumps(payload).encode())


def _json(document: Any) -> bytes:
    return json.dumps(document).encode()


def _keyed(record: dict[str, Any]) -> Message:
    return Message(record.get("sharedEventID", record["eventID"]).encode(), _json(record))


def mixed_stream(first: int = 0) -> list[Message]:
    """Every envelope of the contract, a cross-account pair, non-STS noise and garbage.

    Uses callers ``first`` .. ``first + 15``; pass a new ``first`` for a second, distinct stream.
    """
    n = first
    eventbridge = {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sts",
        "detail": caller_copy(n + 4),
    }
    mixed_file = {"Records": [caller_copy(n + 13), 42, noise()[0]]}
    return [
        _keyed(caller_copy(n)),  # bare record
        _keyed(caller_copy(n + 1)),  # cross-account pair: caller's copy ...
        _keyed(owner_copy(n + 1)),  # ... and the role owner's copy: one finding
        Message(None, _json({"Records": [caller_copy(n + 2), *noise()[:3]]})),  # log file
        Message(None, gzip.compress(_json({"Records": [caller_copy(n + 3)]}))),  # gzip'd log file
        Message(None, _json(eventbridge)),
        Message(None, _json([caller_copy(n + 5), caller_copy(n + 6)])),  # JSON array
        Message(None, cloudwatch_logs([caller_copy(n + 7), caller_copy(n + 8)])),
        Message(None, base64.b64encode(cloudwatch_logs([caller_copy(n + 9)]))),
        Message(None, _json(ocsf(n + 10))),
        Message(None, b"\n".join(_json(caller_copy(i)) for i in (n + 11, n + 12))),  # NDJSON
        Message(None, _json(mixed_file)),  # one good record, one rejected piece, one skipped
        *(Message(None, _json(record)) for record in noise()),
        Message(None, b"this is not CloudTrail at all"),  # garbage: not JSON
        Message(None, gzip.compress(b'{"Records": []}')[:-6]),  # truncated gzip
        Message(None, b'{"eventSource": "sts.amazonaws.com", "eventName": "Assu'),  # cut short
        Message(None, b'{"note": "sts.amazonaws.com", "other": 1}'),  # unknown envelope
        _keyed(caller_copy(n + 14)),
        _keyed(caller_copy(n + 15)),
    ]


def sts_stream(first: int, count: int, noise_every: int = 3) -> list[Message]:
    """``count`` bare external assumptions (keyed), with non-STS noise in between."""
    other = noise()
    out: list[Message] = []
    for i in range(first, first + count):
        out.append(_keyed(caller_copy(i)))
        if i % noise_every == 0:
            out.append(Message(None, _json(other[i % len(other)])))
    return out


#: Rejection reasons mixed_stream's garbage must produce (each at least once).
GARBAGE_REASONS = {"invalid_json", "invalid_gzip", "unknown_envelope", "not_an_object"}


def stream_settings(**sections: Any) -> Any:
    """The detection settings every Kafka test shares (the org is one account)."""
    return settings(organization={"accounts": [ORG_ACCOUNT]}, **sections)


def expected_findings(messages: Iterable[Message]) -> dict[str, Finding]:
    """Finding id → finding, as the pipeline produces them for ``messages`` (in memory)."""
    monitor = build_monitor(stream_settings(), state_path=":memory:")
    delivered: dict[str, Finding] = {}
    sink = _Collect(delivered)
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    for message in messages:
        delivery.deliver(monitor.pipeline.process(message.value).findings)
    monitor.close()
    return delivered


class _Collect:
    name = "collect"

    def __init__(self, into: dict[str, Finding]) -> None:
        self.into = into

    def send(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.into[finding_id(finding)] = finding

    def flush(self) -> None: ...

    def close(self) -> None: ...


def finding_ids(lines: Iterable[bytes]) -> list[str]:
    """The finding id of every JSON line a sink wrote (repeats kept, to count them)."""
    ids = []
    for line in lines:
        if line.strip():
            finding = Finding.model_validate_json(line)
            ids.append(finding_id(finding))
    return ids
