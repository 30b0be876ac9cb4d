"""Windows spread over a group: three instances on one PostgreSQL state, one record per message
over six partitions, fed by ``role-monitor produce`` (real broker, real PostgreSQL).

Twenty outside principals each fail five assumptions (five roles, within the burst window):
every burst must fire once, whichever instances hold the partitions and however the group
rebalances while it forms. Before the produce key was the caller, each denial went to the
partition of its own event id and 0 to 2 of the 20 bursts fired; one instance fired 20. The
same stream carries cross-account successes from four outside accounts: every first-seen pair
pages once, and every other finding once.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka_service import ROLE_MONITOR, wait_until
from kafka_stream import START, Message, caller_copy
from test_postgres_group import Group, expected, group, group_stream  # noqa: F401

from monitor.sinks.delivery import finding_id

pytestmark = pytest.mark.kafka

PRINCIPALS = 20
BURST = "assume_role_denied_burst"


def denials() -> list[dict[str, Any]]:
    """Five failures of five roles per principal, the principals interleaved."""
    out = []
    for attempt in range(5):
        for n in range(PRINCIPALS):
            record = caller_copy(10_000 + attempt * PRINCIPALS + n)
            account = f"66665555{n % 4:04d}"
            record["userIdentity"].update(
                accountId=account,
                principalId=f"AIDAPROBER{n:010d}",
                arn=f"arn:aws:iam::{account}:user/prober{n}",
                userName=f"prober{n}",
            )
            record["requestParameters"]["roleArn"] = (
                f"arn:aws:iam::111122223333:role/Guess{attempt}"
            )
            at = START + timedelta(hours=1, seconds=attempt * 20 + n)
            record["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            record["errorCode"] = "AccessDenied"
            record.pop("responseElements", None)
            out.append(record)
    return out


def produce(target: Group, records: list[dict[str, Any]], folder: Path) -> None:
    """Through ``role-monitor produce``: one keyed message per record."""
    path = folder / "stream.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    config = target.config("producer")
    done = subprocess.run(
        [str(ROLE_MONITOR), "produce", "--config", str(config), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_three_instances_fire_every_burst_and_every_first_seen_pair_once(
    group: Group,  # noqa: F811
    tmp_path: Path,
) -> None:
    successes = [json.loads(m.value) for m in group_stream(0, 60)]
    records = successes[:60] + denials() + successes[60:]
    ids, pairs = expected([Message(None, json.dumps(r).encode()) for r in records])
    services = [group.start(name, commit_interval="0.5s") for name in "abc"]
    try:
        for service in services:
            service.wait_assigned(60)
        produce(group, records, tmp_path)
        # Findings are delivered before offsets are committed: once all are, all were sent.
        wait_until(group.setup.all_committed, 120, "every offset committed by the group")
        for service in services:
            assert service.stop()[0] == 0
    finally:
        for service in services:
            service.ensure_stopped()
    found = group.findings()
    bursts = Counter(finding_id(f) for f in found if f.detector == BURST)
    assert len(bursts) == PRINCIPALS, f"{len(bursts)} of {PRINCIPALS} bursts fired"
    group.assert_exactly_once(ids, pairs)
