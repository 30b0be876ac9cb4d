"""A forged eventTime must not blind the detectors (issue 12, point 1).

Before monitor/intake/clock.py, one denied AssumeRole dated 2099 moved the pipeline's clock: the
next prune deleted every baseline and the 20 known pairs fired ``cross_account_first_seen`` again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import corpus_record, settings, varied

from monitor.findings import Finding
from monitor.intake.clock import EventClock
from monitor.service.app import build_monitor
from monitor.sinks.delivery import Delivery

CALLER = "awsdocs-iam-user-guide/01-assumerole-crossaccount-caller-side-IAMUser.json"
ORG = "111122223333"
START = datetime(2026, 1, 5, tzinfo=UTC)


def assumption(n: int, at: datetime, account: str | None = None) -> dict[str, Any]:
    """Caller ``n`` (its own account unless ``account``) assumes a role in the organization."""
    account = account or f"7777{n:08d}"
    event_id = f"{at.timestamp():.0f}-{n}"
    return varied(
        corpus_record(CALLER),
        userIdentity__accountId=account,
        userIdentity__arn=f"arn:aws:iam::{account}:user/U{n}",
        userIdentity__principalId=f"AIDA{n:016d}",
        recipientAccountId=ORG,
        eventTime=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        eventID=event_id,
        sharedEventID=event_id,
    )


def forged(when: str) -> dict[str, Any]:
    record = assumption(999, START)
    record["eventTime"] = when
    record["errorCode"] = "AccessDenied"
    record.pop("responseElements", None)
    return record


class Run:
    def __init__(self) -> None:
        config = settings(
            organization={"accounts": [ORG]},
            trusted_external_accounts=[f"7777{n:08d}" for n in range(21)],
        )
        self.monitor = build_monitor(config, state_path=":memory:")
        self.found: list[Finding] = []
        self.delivery = Delivery([self], self.monitor.state, self.monitor.metrics)

    name = "list"

    def send(self, findings: list[Finding]) -> None:
        self.found.extend(findings)

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def feed(self, *records: dict[str, Any]) -> list[str]:
        """Each record through the pipeline; the detectors that fired."""
        before = len(self.found)
        for record in records:
            result = self.monitor.pipeline.process(json.dumps(record).encode())
            self.delivery.deliver(result.findings)
        self.monitor.pipeline.prune()
        return [f.detector for f in self.found[before:]]

    def metric(self, name: str, **labels: str) -> float | None:
        return self.monitor.metrics.registry.get_sample_value(name, labels)


@pytest.mark.parametrize("when", ["2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_forged_future_time_neither_prunes_baselines_nor_repages(when: str) -> None:
    run = Run()
    run.feed(assumption(0, START))  # the observation starts
    later = START + timedelta(days=8)  # past the 7-day learning period
    first = run.feed(*(assumption(n, later) for n in range(1, 21)))
    assert first.count("cross_account_first_seen") == 20
    baselines = dict(run.monitor.state.sizes())["baseline"]

    assert run.feed(forged(when)) == []
    again = run.feed(*(assumption(n, later + timedelta(hours=2)) for n in range(1, 21)))

    assert "cross_account_first_seen" not in again
    assert dict(run.monitor.state.sizes())["baseline"] == baselines
    assert run.monitor.pipeline.now == later + timedelta(hours=2)
    reason = "implausible_event_time"
    assert run.metric("role_monitor_dead_letters_total", reason=reason) == 1
    newest = run.metric("role_monitor_last_event_timestamp_seconds")
    assert newest == (later + timedelta(hours=2)).timestamp()


@pytest.mark.parametrize("when", ["2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_an_implausible_first_record_does_not_set_the_observation_start(when: str) -> None:
    run = Run()
    run.feed(forged(when))
    run.feed(assumption(0, START))
    assert run.monitor.state.get_meta("observation_start") == START.isoformat()
    # Learning still runs: a pair first seen on day 1 is not reported.
    assert "cross_account_first_seen" not in run.feed(assumption(1, START + timedelta(days=1)))


def test_run_rejects_implausibly_old_times_replay_accepts_them() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    live = EventClock(max_age=timedelta(days=30), wall=lambda: now)
    history = EventClock(wall=lambda: now)
    old = now - timedelta(days=400)
    assert live.implausible(old) is not None
    assert history.implausible(old) is None
    assert history.implausible(now + timedelta(minutes=14)) is None
    assert history.implausible(now + timedelta(minutes=16)) is not None


def test_windows_take_any_valid_iso_date() -> None:
    """Detectors see the event's own time: year 9999 and year 1 must not raise."""
    from detectors.windows import BurstGate, DistinctWindow, EventWindow

    state = build_monitor(settings(), state_path=":memory:").state
    for at in (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), datetime.min.replace(tzinfo=UTC)):
        assert DistinctWindow("t", timedelta(hours=1), 3).add(state, "k", at, "r")
        assert EventWindow("e", timedelta(hours=1)).add(state, "k", at, "r")
        BurstGate("b", timedelta(hours=1)).open(state, "k", at, at)
        state.prune(at, now=at)


@pytest.mark.parametrize("when", ["2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z"])
def test_a_role_change_with_a_forged_time_is_rejected_like_an_assumption(when: str) -> None:
    """A backdoor written into a trust policy is real, but a time no CloudTrail record can
    carry must not set the observation start or move the clock through a change event."""
    case = Path(__file__).parent / "detector_cases" / "trust_policy_opened"
    change = json.loads((case / "public_limited_to_outside_account_positive.json").read_text())
    record = change["records"][0]
    record["eventTime"] = when
    run = Run()
    assert run.feed(record) == []
    reason = "implausible_event_time"
    assert run.metric("role_monitor_dead_letters_total", reason=reason) == 1
    assert run.monitor.pipeline.now is None
    assert run.monitor.state.get_meta("observation_start") is None


def live_run() -> Run:
    """A pipeline set up as ``run`` sets it: ``clock.max_age`` and the learning-start vote."""
    from monitor.intake.clock import StartVote

    run = Run()
    run.monitor.pipeline.clock.max_age = timedelta(days=1095)
    run.monitor.pipeline.start_vote = StartVote()
    return run


def first_seen_pairs(days_ago: float, count: int, first: int = 0) -> list[dict[str, Any]]:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_ago)
    return [assumption(n, at + timedelta(seconds=n)) for n in range(first, first + count)]


def test_a_backfill_keeps_its_baselines_through_a_record_dated_now() -> None:
    """Issue 21, point 4, backfill: 2025 events, one denied record dated ten minutes from now
    (inside clock.max_ahead). Before: the clock jumped to today, pruning wiped the baselines
    (684 rows -> 0) and 20 of 20 known pairs paged again. Now the clock follows the stream."""
    run = live_run()
    backfill = datetime(2025, 6, 2, tzinfo=UTC)
    run.feed(*(assumption(n, backfill + timedelta(minutes=n)) for n in range(1, 21)))
    baselines = dict(run.monitor.state.sizes())["baseline"]
    stray = forged((datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    run.feed(stray)
    later = backfill + timedelta(days=8)
    again = run.feed(*(assumption(n, later + timedelta(minutes=n)) for n in range(1, 21)))
    assert "cross_account_first_seen" not in again
    assert dict(run.monitor.state.sizes())["baseline"] == baselines > 0
    assert run.monitor.pipeline.now is not None and run.monitor.pipeline.now.year == 2025


def test_a_stream_that_really_moves_on_moves_the_clock() -> None:
    """Not a lost event and not a stuck clock: two records agreeing on a later time move it."""
    run = live_run()
    run.feed(assumption(1, START))
    run.feed(assumption(2, START + timedelta(days=3)))
    assert run.monitor.pipeline.now == START, "one record so far ahead is not the stream"
    run.feed(assumption(3, START + timedelta(days=3, seconds=5)))
    assert run.monitor.pipeline.now == START + timedelta(days=3)
    assert run.monitor.pipeline.stats.processed == 3


def test_catch_up_starts_learning_from_the_stream_not_one_stray_record() -> None:
    """Issue 21, point 4, catch-up: the first record is dated 2024-01-01 (inside
    clock.max_age), the stream itself two days ago. Before: learning started in 2024, so the
    stream's new pairs fired (30 first-seen findings instead of 23). Now the first records
    vote: learning starts with the stream, and its first days are learned, not reported."""
    run = live_run()
    run.feed(assumption(0, datetime(2024, 1, 1, tzinfo=UTC)))
    fired = run.feed(*first_seen_pairs(2, 20, first=1))
    assert "cross_account_first_seen" not in fired
    start = datetime.fromisoformat(run.monitor.state.get_meta("observation_start") or "")
    assert datetime.now(UTC) - start < timedelta(days=3)


def test_an_ordinary_stream_starts_learning_at_its_first_record() -> None:
    run = live_run()
    pairs = first_seen_pairs(2, 6, first=1)
    run.feed(*pairs)
    first = datetime.fromisoformat(pairs[0]["eventTime"].replace("Z", "+00:00"))
    assert run.monitor.state.get_meta("observation_start") == first.isoformat()


def test_a_stray_old_record_cannot_lower_a_groups_learning_start(postgres_url: str) -> None:
    """In a group the start is the earliest any instance saw; once the first records have
    voted, a record of 2024-01-01 (inside clock.max_age) must not pull it back."""
    from monitor.intake.clock import StartVote

    run = Run()
    config = run.monitor.settings
    run.monitor = build_monitor(config, state_path=postgres_url)
    run.delivery = Delivery([run], run.monitor.state, run.monitor.metrics)
    run.monitor.pipeline.clock.max_age = timedelta(days=1095)
    run.monitor.pipeline.start_vote = StartVote()
    run.feed(*first_seen_pairs(2, 6, first=1))
    run.monitor.state.commit()
    start = run.monitor.state.get_meta("observation_start")
    assert start is not None
    run.feed(assumption(0, datetime(2024, 1, 1, tzinfo=UTC)))
    run.monitor.state.commit()
    assert run.monitor.state.get_meta("observation_start") == start
    run.monitor.close()


def test_a_group_member_learns_from_the_groups_start_not_its_own(postgres_url: str) -> None:
    """A member's first records voted its start; a record of another partition, earlier but
    within the vote's tolerance, comes after the group's start (the earliest any instance
    saw). Before: clamped to this member's start, it was learned silently, so its pair was
    known to the whole group and never paged (a three-instance crash test lost one)."""
    from monitor.intake.clock import StartVote

    run = Run()
    config = settings(
        organization={"accounts": [ORG]},
        trusted_external_accounts=[f"7777{n:08d}" for n in range(21)],
        detectors={"cross_account_first_seen": {"learning_period": "0s"}},
    )
    run.monitor = build_monitor(config, state_path=postgres_url)
    run.delivery = Delivery([run], run.monitor.state, run.monitor.metrics)
    run.monitor.pipeline.clock.max_age = timedelta(days=1095)
    run.monitor.pipeline.start_vote = StartVote()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    run.feed(*(assumption(n, base + timedelta(seconds=n)) for n in range(10, 15)))
    run.monitor.state.commit()
    assert (
        run.monitor.state.get_meta("observation_start")
        == (base + timedelta(seconds=10)).isoformat()
    )
    fired = run.feed(assumption(5, base + timedelta(seconds=5)))
    run.monitor.state.commit()
    assert "cross_account_first_seen" in fired
    assert (
        run.monitor.state.get_meta("observation_start") == (base + timedelta(seconds=5)).isoformat()
    )
    run.monitor.close()
