"""The StateStore methods the detectors added: window trimming and expiring facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_trim_window_drops_only_older_entries_of_one_key() -> None:
    state = StateStore()
    for minutes in (0, 1, 2, 10):
        state.add_to_window("ns", "a", T0 + timedelta(minutes=minutes), str(minutes))
    state.add_to_window("ns", "b", T0, "other key")
    assert state.trim_window("ns", "a", T0 + timedelta(minutes=2)) == 2
    assert [item for _, item in state.window("ns", "a", T0)] == ["2", "10"]
    assert [item for _, item in state.window("ns", "b", T0)] == ["other key"]


def test_remember_and_recall_honour_expiry_in_event_time() -> None:
    state = StateStore()
    state.remember("ns", "k", "v1", T0 + timedelta(hours=1))
    assert state.recall("ns", "k", T0) == "v1"
    assert state.recall("ns", "k", T0 + timedelta(minutes=59)) == "v1"
    assert state.recall("ns", "k", T0 + timedelta(hours=1)) is None
    assert state.recall("other", "k", T0) is None


def test_remember_replaces_and_forget_removes() -> None:
    state = StateStore()
    state.remember("ns", "k", "v1", T0 + timedelta(hours=1))
    state.remember("ns", "k", "v2", T0 + timedelta(hours=2))
    assert state.recall("ns", "k", T0 + timedelta(minutes=90)) == "v2"
    state.forget("ns", "k")
    assert state.recall("ns", "k", T0) is None


def test_prune_removes_expired_facts_and_sizes_report_them() -> None:
    state = StateStore()
    state.remember("ns", "old", "x", T0)
    state.remember("ns", "new", "y", T0 + timedelta(days=10))
    assert dict(state.sizes())["fact"] == 2
    assert state.prune(T0 + timedelta(days=1)) == 1
    assert dict(state.sizes())["fact"] == 1
    assert state.recall("ns", "new", T0 + timedelta(days=2)) == "y"


def test_facts_survive_commit_and_roll_back_without_it(tmp_path: object) -> None:
    path = f"{tmp_path}/state.db"
    state = StateStore(path)
    state.remember("ns", "kept", "1", T0 + timedelta(days=1))
    state.commit()
    state.remember("ns", "lost", "2", T0 + timedelta(days=1))
    state.close()
    reopened = StateStore(path)
    assert reopened.recall("ns", "kept", T0) == "1"
    assert reopened.recall("ns", "lost", T0) is None
    reopened.close()


def test_prune_with_the_pipeline_clock_drops_facts_as_soon_as_they_expire() -> None:
    state = StateStore()
    now = T0 + timedelta(days=1)
    state.remember("ns", "expired", "x", now - timedelta(minutes=1))
    state.remember("ns", "live", "y", now + timedelta(minutes=1))
    state.touch("baseline", "recent", now - timedelta(days=2))
    assert state.prune(now - timedelta(days=90), now=now) == 1
    assert dict(state.sizes())["fact"] == 1
    assert dict(state.sizes())["baseline"] == 1


def test_pipeline_prune_passes_its_clock() -> None:
    import orjson
    from test_detector_cases import BASE_CONFIG, CASES, load_case

    from monitor.config.settings import Settings
    from monitor.service.app import build_monitor

    monitor = build_monitor(Settings(**BASE_CONFIG))
    case = load_case(CASES / "role_chain_depth" / "three_hops_negative.json")
    for record in case["records"]:
        monitor.pipeline.process(orjson.dumps(record))
    assert monitor.pipeline.now is not None
    then = monitor.pipeline.now
    assert monitor.state.recall("session_chain", "key:ASIAHOP1000000000001", then)
    # half a day later the sessions have expired but a late event may still belong to them:
    # within state.late_event_grace (1 day) their facts stay, whenever pruning runs
    monitor.pipeline.now += timedelta(hours=12)
    monitor.pipeline.prune()
    assert monitor.state.recall("session_chain", "key:ASIAHOP1000000000001", then)
    # past the grace, long before the 90-day retention: the facts go, the rate baselines
    # (kept for the retention period) stay
    monitor.pipeline.now += timedelta(days=1)
    monitor.pipeline.prune()
    assert monitor.state.recall("session_chain", "key:ASIAHOP1000000000001", then) is None
    assert monitor.state.recall("role_rate_anomaly", "arn:aws:iam::111111111111:role/Hop1", then)
    monitor.close()


def test_a_hammering_principal_keeps_its_state_bounded() -> None:
    """500 denials and 500 successes by one principal in 25 minutes: a few rows, not 1000."""
    import copy

    import orjson
    from test_detector_cases import BASE_CONFIG, CASES, load_case

    from monitor.config.settings import Settings
    from monitor.service.app import build_monitor

    denied = load_case(CASES / "assume_role_denied_burst" / "four_in_window_negative.json")
    allowed = load_case(CASES / "many_roles_assumed" / "nine_roles_negative.json")
    monitor = build_monitor(Settings(**BASE_CONFIG))
    findings = []
    for n in range(500):
        for template in (denied["records"][0], allowed["records"][0]):
            record = copy.deepcopy(template)
            record["eventID"] = f"{template['eventID']}-{n}"
            record["eventTime"] = (T0 + timedelta(seconds=3 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            findings.extend(monitor.pipeline.process(orjson.dumps(record)).findings)
    sizes = dict(monitor.state.sizes())
    assert sizes["window_event"] <= 5  # denied-burst entries only, cleared when a burst opens
    assert [f.detector for f in findings].count("assume_role_denied_burst") == 1
    monitor.close()
