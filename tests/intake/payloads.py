"""Messages for the intake's property tests: records in scope or not, in every envelope and
encoding the decoder reads (and cut short)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from hypothesis import strategies as st

SOURCES = st.sampled_from(
    ["sts.amazonaws.com", "iam.amazonaws.com", "ec2.amazonaws.com", "s3.amazonaws.com", "x"]
)
NAMES = st.sampled_from(["AssumeRole", "CreateRole", "RunInstances", "LeaveOrganization"])
EXTRA = st.one_of(
    st.text(max_size=20),
    # A value that names a call of its own (a nested record, or a name as a plain value):
    st.builds(lambda s, n: {"eventSource": s, "eventName": n}, SOURCES, NAMES),
    st.sampled_from(["eventSource", "eventName"]),
)
RECORDS = st.builds(
    lambda source, name, extra: {"eventSource": source, "eventName": name, "x": extra},
    SOURCES,
    NAMES,
    EXTRA,
)


def encodings(document: Any) -> list[bytes]:
    text = json.dumps(document).encode()
    return [
        text,
        json.dumps(document, ensure_ascii=False).encode(),
        json.dumps(document, indent="\t", separators=(" ,", " : ")).encode(),
        gzip.compress(text),
        base64.b64encode(text),
        text[: len(text) // 2],  # cut short
    ]


def envelopes(records: list[dict[str, Any]], as_log_file: bool) -> list[Any]:
    """The records as a log file or an array, and each alone as a bare record, an EventBridge
    event, a CloudWatch Logs subscription message and its Lambda ``awslogs`` form."""
    out: list[Any] = [{"Records": records} if as_log_file else records]
    for record in records:
        logs = {"messageType": "DATA_MESSAGE", "logEvents": [{"message": json.dumps(record)}]}
        data = base64.b64encode(gzip.compress(json.dumps(logs).encode())).decode()
        out += [
            record,
            {"detail-type": "AWS API Call via CloudTrail", "detail": record},
            logs,
            {"awslogs": {"data": data}},
        ]
    return out
