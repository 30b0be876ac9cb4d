"""The PostgreSQL state backend against a real server: the StateStore contract, group-wide
claims, the change feed, migrations under a lock, pruning once per group, connection loss."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from kafka_service import wait_until
from plugins.postgres_server import PASSWORD, PostgresServer

from monitor.config.settings import ConfigError
from monitor.state import stored_keys
from monitor.state.documents import Codec
from monitor.state.errors import StateUnavailable
from monitor.state.postgres import MIGRATIONS, PostgresBackend, open_backend
from monitor.state.sqlite import Key, Row
from monitor.state.store import StateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def store(url: str) -> StateStore:
    return StateStore(url, backend=PostgresBackend(url))


def test_writes_become_durable_only_at_commit(postgres_url: str) -> None:
    first = store(postgres_url)
    assert first.touch("pair", "a", T0) is None
    first.commit()
    assert first.touch("pair", "b", T0) is None
    first.close()  # a crash before the next checkpoint
    again = store(postgres_url)
    assert again.touch("pair", "a", T0 + HOUR) == T0
    assert again.touch("pair", "b", T0) is None
    again.close()


def test_the_store_contract_on_postgres(postgres_url: str) -> None:
    """The same behaviour the SQLite tests ask of the store, through a commit each time."""
    state = store(postgres_url)
    assert state.merge_repeat("k", T0, HOUR) == 0
    assert state.merge_repeat("k", T0 + timedelta(minutes=30), HOUR) == 1
    state.add_to_window("denied", "p", T0, "x")
    state.add_to_window("denied", "p", T0 + timedelta(seconds=1), "y")
    state.remember("session", "s", "v", T0 + HOUR)
    assert state.mark_delivered("f-1", T0) is True
    state.commit()
    state.close()
    again = store(postgres_url)
    assert again.merge_repeat("k", T0 + timedelta(minutes=59), HOUR) == 2
    assert [item for _, item in again.window("denied", "p", T0)] == ["x", "y"]
    assert again.recall("session", "s", T0) == "v"
    assert again.recall("session", "s", T0 + 2 * HOUR) is None
    assert again.mark_delivered("f-1", T0) is False
    assert [key for key, *_ in again.baseline_keys("pair")] == []
    again.close()


def test_claims_let_exactly_one_instance_page(postgres_url: str) -> None:
    """Two instances take the same assumption from two partitions: one claim wins; the
    loser's re-read of its own message loses again, the winner's re-read wins again."""
    one, two = store(postgres_url), store(postgres_url)
    one.set_position("t", 0, 10)
    assert one.first_copy("shared-1", T0)
    two.set_position("t", 3, 42)
    assert two.first_copy("shared-1", T0)  # neither knows of the other yet
    won_one = one.take_claims()
    won_two = two.take_claims()
    assert len(won_one) == len(won_two) == 1
    backend_one, backend_two = one._backend, two._backend
    assert isinstance(backend_one, PostgresBackend) and isinstance(backend_two, PostgresBackend)
    assert backend_one.settle([won_one]) == [True]
    one.commit()  # claims commit with the state (a checkpoint)
    assert backend_two.settle([won_two]) == [False]
    two.commit()
    assert backend_one.settle([won_one]) == [True], "a re-read of the same message wins"
    one.close()
    two.close()


def test_a_claim_dies_with_an_instance_killed_before_its_commit(postgres_url: str) -> None:
    """The claim is in the state's transaction: a kill before the checkpoint's commit frees
    the key, so another instance's finding on it pages instead of nobody's."""
    one, two = store(postgres_url), store(postgres_url)
    one.set_position("t", 0, 10)
    assert one.touch("pair", "a->b", T0) is None
    two.set_position("t", 3, 42)
    assert two.touch("pair", "a->b", T0) is None
    claims_one, claims_two = one.take_claims(), two.take_claims()
    backend_one, backend_two = one._backend, two._backend
    assert isinstance(backend_one, PostgresBackend) and isinstance(backend_two, PostgresBackend)
    assert backend_one.settle([claims_one]) == [True]
    backend_one.drop_connections()  # kill -9 before the commit: the transaction is gone
    assert backend_two.settle([claims_two]) == [True]
    two.commit()
    one.close()
    two.close()


def test_a_finding_that_loses_one_claim_holds_none_of_the_others(postgres_url: str) -> None:
    """Instance b pages pair P from its copy of call 0, whose other copy instance c took
    first; c's own first sighting of P came from call 4. b's finding drops (the call is c's),
    so it must not keep P either: c's finding on P pages instead of nobody's."""
    b, c = store(postgres_url), store(postgres_url)
    c.set_position("t", 5, 1)
    assert c.first_copy("call-0", T0)
    assert c._backend.settle([c.take_claims()]) == [True]  # type: ignore[attr-defined]
    c.commit()
    b.set_position("t", 2, 1)
    assert b.first_copy("call-0", T0)  # b has not followed c yet
    assert b.touch("pair", "P", T0) is None
    assert b._backend.settle([b.take_claims()]) == [False]  # type: ignore[attr-defined]
    b.commit()
    c.set_position("t", 4, 1)
    assert c.first_copy("call-4", T0 + timedelta(minutes=4))
    assert c.touch("pair", "P", T0 + timedelta(minutes=4)) is None
    assert c._backend.settle([c.take_claims()]) == [True], "P was left free"  # type: ignore[attr-defined]
    c.commit()
    b.close()
    c.close()


def test_a_claim_held_by_an_open_transaction_is_waited_for_then_reported(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped instance holding a claim delays another's checkpoint, never stops it."""
    monkeypatch.setattr("monitor.state.postgres.LOCK_TIMEOUT_MS", 200)
    one, two = store(postgres_url), store(postgres_url)
    one.set_position("t", 0, 1)
    one.touch("pair", "x", T0)
    two.set_position("t", 1, 1)
    two.touch("pair", "x", T0)
    assert one._backend.settle([one.take_claims()]) == [True]  # type: ignore[attr-defined]
    with pytest.raises(StateUnavailable, match="lock"):
        two._backend.settle([two.take_claims()])  # type: ignore[attr-defined]
    one.close()
    two.close()


def test_a_dedup_window_claim_reopens_once_the_window_has_passed(postgres_url: str) -> None:
    one, two = store(postgres_url), store(postgres_url)
    one.set_position("t", 0, 1)
    assert one.merge_repeat("k", T0, HOUR) == 0
    two.set_position("t", 1, 1)
    assert two.merge_repeat("k", T0 + timedelta(minutes=5), HOUR) == 0
    assert one._backend.settle([one.take_claims()]) == [True]  # type: ignore[attr-defined]
    one.commit()
    assert two._backend.settle([two.take_claims()]) == [False]  # type: ignore[attr-defined]
    two.commit()
    two.set_position("t", 1, 2)
    two.merge_repeat("k", T0 + 2 * HOUR, HOUR)
    assert two._backend.settle([two.take_claims()]) == [True]  # type: ignore[attr-defined]
    one.close()
    two.close()


def test_each_instance_follows_what_the_others_commit(postgres_url: str) -> None:
    """The cache takes in the group's writes at its next commit: no round trip per key."""
    one, two = store(postgres_url), store(postgres_url)
    assert two.touch("pair", "a->b", T0 + HOUR) is None  # two caches: absent
    two.add_to_window("denied", "p", T0 + HOUR, "two")
    two.commit()
    one.touch("pair", "a->b", T0)
    one.add_to_window("denied", "p", T0, "one")
    one.commit()
    two.commit()  # nothing of its own to write: follows one's commit
    assert two.last_seen("pair", "a->b") == T0 + HOUR
    assert two.touch("pair", "a->b", T0 + 2 * HOUR) == T0, "the earliest sighting wins"
    assert [item for _, item in two.window("denied", "p", T0)] == ["one"]
    one.close()
    two.close()


def test_a_document_held_decoded_follows_what_the_group_commits(postgres_url: str) -> None:
    """A detector's document (monitor/state/documents.py) is held decoded between reads; the
    group's commit of the same fact replaces it, so no instance goes on with a stale copy."""
    codec: Codec[list[str]] = Codec(lambda value: ",".join(value), lambda text: text.split(","))
    one, two = store(postgres_url), store(postgres_url)
    one.remember_doc("chain", ["s"], ["a"], T0 + HOUR, codec)
    one.commit()
    two.commit()  # follows one's commit
    assert two.recall_doc("chain", "s", T0, codec) == ["a"]  # decoded, then held
    one.remember_doc("chain", ["s"], ["a", "b"], T0 + HOUR, codec)
    one.commit()
    two.commit()
    assert two.recall_doc("chain", "s", T0, codec) == ["a", "b"]
    assert two.recall("chain", "s", T0) == "a,b"
    one.close()
    two.close()


def test_observation_start_is_the_groups_first(postgres_url: str) -> None:
    one, two = store(postgres_url), store(postgres_url)
    assert one.observation_start(T0) == T0
    assert two.observation_start(T0 + HOUR) == T0
    assert two.observation_start(T0 - HOUR) == T0 - HOUR, "an instance saw an earlier event"
    assert two.observation_start(T0) == T0 - HOUR
    one.close()
    two.close()


def test_instances_starting_together_migrate_once(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresBackend(postgres_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with psycopg.connect(postgres_url) as db:
        versions = db.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))


def test_pruning_is_done_once_per_group(postgres_url: str) -> None:
    one, two = store(postgres_url), store(postgres_url)
    one.touch("pair", "old", T0)
    one.commit()
    later = T0 + timedelta(days=100)
    assert one.prune(later - timedelta(days=90), now=later) == 1
    one.commit()
    two.touch("pair", "old2", T0)
    two.commit()
    assert two.prune(later - timedelta(days=90), now=later) == 0, "the group pruned this hour"
    one.close()
    two.close()


def test_connection_loss_raises_state_unavailable_and_keeps_the_changes(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    state = store(postgres_url)
    state.touch("pair", "kept", T0)
    postgres_server.stop()
    try:
        with pytest.raises(StateUnavailable) as raised:
            state.commit()
        assert PASSWORD not in str(raised.value)
        with pytest.raises(StateUnavailable):
            state.commit()
    finally:
        postgres_server.start()
    state.commit()  # the same changes, written once the database is back
    state.close()
    again = store(postgres_url)
    assert again.last_seen("pair", "kept") == T0
    again.close()


def test_password_file_and_a_wrong_password(
    postgres_server: PostgresServer, postgres_url: str, tmp_path: Path
) -> None:
    bare = postgres_url.replace(f":{PASSWORD}@", "@")
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    open_backend(bare, secret).close()
    secret.write_text("wrong\n")
    with pytest.raises(ConfigError) as raised:
        open_backend(bare, secret)
    message = str(raised.value)
    assert message.startswith("state.url: ") and "wrong" not in message
    assert "\n" not in message


def test_replay_reads_and_writes_a_postgres_state(postgres_url: str) -> None:
    """``replay --state postgresql://…``: what one replay delivered, the next one does not."""
    import subprocess
    import sys

    from helpers import REPO

    examples = REPO / "examples"

    def replay() -> list[str]:
        command = [sys.executable, "-m", "monitor.cli", "replay", "--config"]
        command += [
            str(examples / "config.yaml"),
            "--state",
            postgres_url,
            str(examples / "stream"),
        ]
        done = subprocess.run(command, capture_output=True, timeout=120, cwd=REPO, check=False)
        assert done.returncode == 0, done.stderr
        assert PASSWORD.encode() not in done.stderr
        return done.stdout.decode().splitlines()

    assert replay() != []
    assert replay() == [], "every finding was delivered by the first replay"


def test_the_hot_path_needs_no_database_round_trip(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    """Everything an assumption asks of the store is answered from the cache: with the
    database stopped, processing goes on; only the checkpoint needs it."""
    state = store(postgres_url)
    state.touch("pair", "known", T0)
    state.observation_start(T0)
    state.commit()
    postgres_server.stop()
    try:
        assert state.first_copy("new-assumption", T0) is True
        assert state.touch("pair", "known", T0 + HOUR) == T0
        assert state.touch("pair", "new", T0 + HOUR) is None
        assert state.merge_repeat("dedup", T0, HOUR) == 0
        state.add_to_window("denied", "p", T0, "x")
        assert state.recall("session", "s", T0) is None
        assert state.observation_start(T0 + HOUR) == T0
        with pytest.raises(StateUnavailable):
            state.commit()
    finally:
        postgres_server.start()
    state.commit()
    state.close()


def test_learn_fills_and_roles_reads_a_postgres_state(postgres_url: str) -> None:
    """``learn --state postgresql://…`` fills it; ``roles --state …`` reads the usage back."""
    import subprocess
    import sys

    from helpers import REPO

    examples = REPO / "examples"
    base = [sys.executable, "-m", "monitor.cli"]
    config = ["--config", str(examples / "config.yaml"), "--state", postgres_url]
    subprocess.run(
        [*base, "learn", *config, str(examples / "stream")],
        capture_output=True,
        timeout=120,
        cwd=REPO,
        check=True,
    )
    done = subprocess.run(
        [*base, "roles", *config], capture_output=True, timeout=120, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert b"usage observed" in done.stdout


class CountedPostgres(PostgresBackend):
    """The real backend, counting the keys a store asks it to load."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.asked = 0

    def load(self, table: str, keys: Sequence[Key]) -> dict[Key, Row]:
        self.asked += len(keys)
        return super().load(table, keys)


def live_rows(url: str, table: str) -> int:
    """What ``PostgresBackend.count`` will answer, read outside any open transaction."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = %s", [table]
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_group_member_asks_only_about_keys_the_group_may_hold(postgres_url: str) -> None:
    """Keys nobody wrote cost no round trip once a table's filter is built; a key another
    instance commits is found from this one's next commit on, when it takes in the group's
    changes; and deliveries, which the change feed does not carry, are always asked."""
    one = store(postgres_url)
    for n in range(50):
        one.touch("pair", f"old-{n}", T0)
    one.commit()
    # The statistics that tell a replica what fits come a moment after the commit.
    wait_until(lambda: live_rows(postgres_url, "baseline") == 50, 30, "the table's statistics")
    backend = CountedPostgres(postgres_url)
    two = StateStore(postgres_url, cache_entries=10, backend=backend)  # too small to replicate
    assert [two.touch("pair", f"new-{n}", T0) for n in range(200)] == [None] * 200
    assert backend.asked <= stored_keys.BUILD_AFTER + 10  # then the filter, at 1 % errors
    assert two.touch("pair", "old-7", T0 + HOUR) == T0
    one.touch("pair", "late", T0)
    assert one.mark_delivered("f-9", T0) is True
    one.commit()
    two.commit()  # takes in what one committed
    assert two.touch("pair", "late", T0 + HOUR) == T0
    assert two.mark_delivered("f-9", T0) is False
    one.close()
    two.close()
