"""Reading a message twice changes nothing: any stream, crashed anywhere, any number of times,
ends in the same state and the same findings as one clean run (SQLite and PostgreSQL).

The loop below is the Kafka service's, without the broker: set the position, process, and at
every ``every`` messages a checkpoint (claims, delivered ids, state commit) followed by the
offset commit. A crash is a kill before a message is processed (the batch's state is lost)
or right after a state commit, before the offsets (the state holds what Kafka will hand out
again: the case that, on main, made three denials under the burst threshold page a burst).
Findings count as delivered when their checkpoint's state commit succeeds, as with the
transactional outbox; so a finding counted twice is state that was applied twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from kafka_stream import ORG_ACCOUNT, START, caller_copy
from plugins.postgres_server import PostgresServer

from monitor.config.settings import Settings
from monitor.service.app import build_monitor
from monitor.sinks.delivery import finding_id
from monitor.state.sqlite import LAYOUT
from monitor.state.store import StateStore

TOPIC = "cloudtrail"
DETECTORS = {
    "assume_role_denied_burst": {"threshold": 3, "window": "5m"},
    "many_roles_assumed": {"threshold": 3},
    "cross_account_first_seen": {"learning_period": "0s", "merge_period": "0s"},
    "role_rate_anomaly": {
        "learning_period": "0s",
        "min_count": 1,
        "factor": 1.5,
        "min_excess": 0,
        "bucket": "5m",
    },
}
#: (principal, role, succeeded, seconds since the previous event)
Step = tuple[int, int, bool, int]
#: (offset, "kill" before it is processed | "commit": after the checkpoint it ends, before
#: the offsets)
Crash = tuple[int, str]


def config() -> Settings:
    return settings(organization={"accounts": [ORG_ACCOUNT]}, detectors=DETECTORS)


def stream(steps: list[Step]) -> list[bytes]:
    """One record per message: outside principals trying roles of the organization."""
    out, at = [], START
    for n, (principal, role, succeeded, gap) in enumerate(steps):
        at += timedelta(seconds=gap)
        record = caller_copy(n)
        outsider = record["userIdentity"]["accountId"]
        record["userIdentity"].update(
            principalId=f"AIDAPRINCIPAL{principal}",
            userName=f"P{principal}",
            arn=f"arn:aws:iam::{outsider}:user/P{principal}",
        )
        record["requestParameters"]["roleArn"] = f"arn:aws:iam::{ORG_ACCOUNT}:role/R{role}"
        record["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not succeeded:
            record["errorCode"] = "AccessDenied"
            record.pop("responseElements", None)
        out.append(json.dumps(record).encode())
    return out


def run(target: str, messages: list[bytes], every: int, crashes: list[Crash]) -> Any:
    """The service's loop until every offset is committed; (delivered ids, final state)."""
    pending = set(crashes)
    committed, delivered = 0, Counter[str]()
    while True:
        monitor = build_monitor(config(), state_path=target)
        state, batch, crashed = monitor.state, [], False
        for offset in range(committed, len(messages)):
            if (offset, "kill") in pending:
                pending.discard((offset, "kill"))
                crashed = True
                break
            if state.set_position(TOPIC, 0, offset):
                batch += monitor.pipeline.process(messages[offset]).findings
            if (offset + 1) % every and offset + 1 < len(messages):
                continue
            for finding in (found := state.settle(batch)):
                state.mark_delivered(finding_id(finding), finding.event_time)
            state.commit()
            delivered.update(finding_id(finding) for finding in found)
            batch = []
            if (offset, "commit") in pending:
                pending.discard((offset, "commit"))
                crashed = True
                break
            committed = offset + 1
        if not crashed:
            dump = state_of(state)
            monitor.close()
            return delivered, dump
        monitor.close()  # a kill: nothing uncommitted survives


def state_of(state: StateStore) -> dict[str, Any]:
    """Every stored row of every table, windows included (not the claims: they are owned by
    positions, and meta holds the positions themselves)."""
    backend: Any = state._backend
    rows: dict[str, Any] = {t: sorted(backend.scan(t, ())) for t in LAYOUT}
    if state.shared:
        rows["windows"] = sorted(backend.load_all_windows())
        backend.rollback()
    else:
        query = "SELECT namespace, key, at, item FROM window_event ORDER BY 1, 2, 3, 4"
        rows["windows"] = backend._db.execute(query).fetchall()
    return rows


steps = st.lists(
    st.tuples(
        st.integers(0, 2), st.integers(0, 4), st.booleans(), st.sampled_from([0, 1, 20, 90, 400])
    ),
    min_size=3,
    max_size=18,
)


def crash_points(length: int) -> st.SearchStrategy[list[Crash]]:
    point = st.tuples(st.integers(0, length - 1), st.sampled_from(["kill", "commit"]))
    return st.lists(point, max_size=5)


def check(fresh: Callable[[], str], data: st.DataObject) -> None:
    messages = stream(data.draw(steps, label="steps"))
    every = data.draw(st.integers(1, 5), label="every")
    crashes = data.draw(crash_points(len(messages)), label="crashes")
    once = run(fresh(), messages, every, [])
    again = run(fresh(), messages, every, crashes)
    assert again[0] == once[0], "findings doubled or lost"
    assert again[1] == once[1], "state differs from one clean run"
    assert max(once[0].values(), default=1) == 1


@examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_crash_schedule_gives_the_state_and_findings_of_one_run_sqlite(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("idem")
    counter = iter(range(1000))
    check(lambda: str(folder / f"state-{next(counter)}.db"), data)


@examples(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_crash_schedule_gives_the_state_and_findings_of_one_run_postgres(
    postgres_server: PostgresServer, data: st.DataObject
) -> None:
    check(postgres_server.database, data)


def test_three_denials_read_again_after_the_state_commit_raise_no_burst(
    postgres_url: str, tmp_path: Path
) -> None:
    """The issue's run: a group member commits three denials (burst threshold five), dies
    before the offsets; the partition's next owner reads them again, then two more arrive."""
    denial = (0, 0, False, 1)
    messages = stream([denial] * 5)
    five = settings(
        organization={"accounts": [ORG_ACCOUNT]},
        detectors={"assume_role_denied_burst": {"threshold": 5, "window": "5m"}},
    )
    first = build_monitor(five, state_path=postgres_url)
    for offset in range(3):
        assert first.state.set_position(TOPIC, 0, offset)
        assert first.pipeline.process(messages[offset]).findings == []
    first.state.commit()
    first.close()  # killed before the offsets: the next owner starts at offset 0 again
    owner = build_monitor(five, state_path=postgres_url)
    found = []
    for offset in range(3):
        if owner.state.set_position(TOPIC, 0, offset):
            found += owner.pipeline.process(messages[offset]).findings
    assert found == [], "a re-read counted the same denials twice"
    for offset in range(3, 5):
        assert owner.state.set_position(TOPIC, 0, offset)
        found += owner.pipeline.process(messages[offset]).findings
    owner.close()
    assert [f.detector for f in found] == ["assume_role_denied_burst"]
