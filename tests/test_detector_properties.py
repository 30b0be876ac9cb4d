"""Property tests: mutated real records never make normalize or a detector raise.

Records come from the golden cases and the peer cases (real CloudTrail: Stratus Red Team,
cloud-snitch, AWS documentation, Panther tests). Each example drops keys, swaps types, nulls
values or blows strings up at random places, then feeds the record through the real pipeline.
Allowed outcomes: findings, a skip, or :class:`RecordRejected`; never another exception, and
never a detector error (the pipeline would swallow those, so they are asserted separately).
The monitor runs with every detector enabled and its thresholds at their most eager, so the
stateful paths (windows, chains, rates, taint) run on the garbage too.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_detector_cases import BASE_CONFIG, CASES, merged

from monitor.config.settings import Settings
from monitor.intake.envelopes import Record
from monitor.intake.normalize import RecordRejected, normalize
from monitor.service.app import Monitor, build_monitor

PEER_CASES = Path(__file__).parent / "fixtures" / "peer-cases"

EAGER = {
    "detectors": {
        "assume_role_denied_burst": {"threshold": 2, "window": "1h"},
        "many_roles_assumed": {"threshold": 2},
        "cross_account_first_seen": {"learning_period": "0s"},
        "federated_subject_first_seen": {"learning_period": "0s"},
        "break_glass_principal_first_seen": {"learning_period": "0s"},
        "role_chain_depth": {"max_depth": 1},
        "role_rate_anomaly": {"learning_period": "0s", "min_count": 1, "factor": 1.5},
        "provider_rate_anomaly": {"learning_period": "0s", "min_count": 1, "factor": 1.5},
        "flagged_session_used": {"min_severity": "info"},
    },
    "federation": {"allowed_subjects": {"cognito-identity.amazonaws.com": ["x*"]}},
}


def corpus() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(CASES.glob("*/*.json")):
        if not path.parent.name.startswith("_"):
            records.extend(
                r for r in json.loads(path.read_text())["records"] if isinstance(r, dict)
            )
    for path in sorted(PEER_CASES.glob("*.json")):
        records.append(json.loads(path.read_text())["record"])
    unique = {orjson.dumps(r, option=orjson.OPT_SORT_KEYS): r for r in records}
    return [unique[key] for key in sorted(unique)]


RECORDS = corpus()
STS = [r for r in RECORDS if r.get("eventSource") == "sts.amazonaws.com"]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: dict keys and list indexes, depth first."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


HUGE = "A" * 200_000
REPLACEMENTS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.just(HUGE),
    st.just("\x00\u202e\n" * 1000),
    st.text(max_size=40),
    st.builds(list),  # fresh objects: later mutations may write into them
    st.builds(dict),
    st.builds(lambda: [{"type": "AWS::IAM::Role"}]),
    st.just("arn:aws:iam::123456789012:role/" + "x" * 5000),
)


@st.composite
def mutated(draw: st.DrawFn, pool: list[dict[str, Any]]) -> dict[str, Any]:
    record = copy.deepcopy(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        places = paths(record)
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent: Any = record
        for key in place[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[place[-1]]
            continue
        parent[place[-1]] = draw(REPLACEMENTS)
    return record


def eager_monitor() -> Monitor:
    return build_monitor(Settings(**merged(BASE_CONFIG, merged(EAGER, {"base_dir": CASES}))))


MONITOR = eager_monitor()  # shared on purpose: state accumulates garbage across examples


def feed(record: dict[str, Any]) -> None:
    pipeline = MONITOR.pipeline
    with contextlib.suppress(RecordRejected):
        pipeline.process_record(Record(record, "bare"))
    assert not pipeline.stats.detector_errors, dict(pipeline.stats.detector_errors)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated(STS))
def test_mutated_sts_records_never_raise(record: dict[str, Any]) -> None:
    feed(record)


@FUZZ
@given(mutated(RECORDS))
def test_mutated_records_of_any_kind_never_raise(record: dict[str, Any]) -> None:
    with contextlib.suppress(RecordRejected):
        normalize(record)
    feed(record)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(STS), min_size=2, max_size=12), st.randoms(use_true_random=False))
def test_sequences_of_mutated_records_through_process(records: list[Any], rnd: Any) -> None:
    """Whole messages (bytes) of several mutated records never raise out of the pipeline."""
    monitor = eager_monitor()
    try:
        rnd.shuffle(records)
        monitor.pipeline.process(orjson.dumps({"Records": records}))
        for record in records:
            monitor.pipeline.process(orjson.dumps(record))
        stats = monitor.pipeline.stats
        assert not stats.detector_errors
        assert not stats.rejected["processing_error"], "an exception escaped a record"
    finally:
        monitor.close()


@pytest.mark.parametrize("value", [["AssumeRole"], {"x": 1}])
@pytest.mark.parametrize("key", ["eventName", "eventSource"])
def test_unhashable_event_name_or_source_is_out_of_scope(key: str, value: Any) -> None:
    assert normalize({**STS[0], key: value}) is None


def test_corpus_is_large_enough_to_mean_something() -> None:
    assert len(STS) >= 100
    assert {r.get("eventName") for r in STS} >= {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "AssumeRoot",
        "GetFederationToken",
    }
