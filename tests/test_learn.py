"""``role-monitor learn``: history fills the state, nobody is paged, later runs start from it.

The history is nine days of an organisation from the benchmark's generator (tests/history.py);
the learning periods are the default seven days, so the last day is judged against what the
first eight taught.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import cli, ok
from history import write_history
from kafka_service import Service, Setup, send, wait_until
from kafka_stream import Message, caller_copy, finding_ids
from plugins.kafka_broker import KafkaBroker

from monitor.cli import main
from monitor.commands import replay
from monitor.service import replay_feed as reading
from monitor.service.replay_feed import Read
from monitor.sources.files import Source
from monitor.state.store import StateStore


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_history(tmp_path_factory.mktemp("history"))


def config_of(days: list[Path]) -> str:
    return str(days[0].parent / "config.yaml")


def summary_count(stderr: str, label: str) -> int:
    line = next(line for line in stderr.splitlines() if line.startswith(label))
    return int(line.split(": ", 1)[1].split()[0])


def test_learn_then_replay_the_last_day_gives_what_replay_over_all_days_gives(
    history: list[Path], tmp_path: Path
) -> None:
    config, state = config_of(history), str(tmp_path / "learned.db")
    whole = ok(cli("replay", "--config", config, *map(str, history))).stdout.splitlines()
    last_day = history[-1].name
    expected = [line for line in whole if '"event_time":"2026-11-09' in line]
    assert expected and len(expected) < len(whole)

    learned = ok(cli("learn", "--config", config, "--state", state, *map(str, history[:-1])))
    assert learned.stdout == "", "learn must deliver nothing"
    withheld = summary_count(learned.stderr, "findings withheld")
    assert withheld == len(whole) - len(expected), "every finding it would have raised counted"

    after = ok(cli("replay", "--config", config, "--state", state, str(history[-1])))
    assert after.stdout.splitlines() == expected
    detectors = {json.loads(line)["detector"] for line in expected}
    assert {"cross_account_first_seen", "role_chain_cross_account"} <= detectors

    fresh = ok(cli("replay", "--config", config, str(history[-1]))).stdout.splitlines()
    assert fresh != expected, f"{last_day} alone must judge differently: the state matters"


def test_learn_marks_no_finding_delivered(history: list[Path], tmp_path: Path) -> None:
    """Findings learned are merged as replay would, but none counts as paged."""
    state = tmp_path / "learned.db"
    ok(cli("learn", "--config", config_of(history), "--state", str(state), str(history[0])))
    store = StateStore(state)
    try:
        sizes = dict(store.sizes())
    finally:
        store.close()
    assert sizes["merged"] > 0 and sizes["baseline"] > 0
    assert sizes["delivered"] == 0


def test_learning_period_counts_from_the_oldest_event_whatever_the_file_order(
    history: list[Path], tmp_path: Path
) -> None:
    """Newest file first: the period still starts on day one, so day nine is past it."""
    config, state = config_of(history), str(tmp_path / "learned.db")
    backwards = [str(path) for path in reversed(history[:-1])]
    learned = ok(cli("learn", "--config", config, "--state", state, *backwards))
    assert "learning periods count from: 2026-11-01T00:00:00Z" in learned.stderr
    after = ok(cli("replay", "--config", config, "--state", state, str(history[-1])))
    detectors = {json.loads(line)["detector"] for line in after.stdout.splitlines()}
    assert "cross_account_first_seen" in detectors


def test_learn_keeps_an_older_start_already_in_the_state(
    history: list[Path], tmp_path: Path
) -> None:
    config, state = config_of(history), str(tmp_path / "learned.db")
    ok(cli("learn", "--config", config, "--state", state, str(history[0])))
    again = ok(cli("learn", "--config", config, "--state", state, str(history[3])))
    assert "learning periods count from: 2026-11-01T00:00:00Z" in again.stderr


def test_an_interrupted_learn_keeps_what_it_committed(
    history: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints as it goes: Ctrl-C on the third day keeps the first two learned, so a
    second run over them finds every assumption already known."""
    config, state = config_of(history), str(tmp_path / "learned.db")
    monkeypatch.setattr(replay, "CHECKPOINT_RECORDS", 1)
    real = reading.read_chunks

    def interrupted(sources: list[Source], jobs: int) -> Iterator[Read]:
        for source, chunks, lines_before in real(sources, 1):
            if str(source) == str(history[2]):
                raise KeyboardInterrupt
            yield source, chunks, lines_before

    monkeypatch.setattr(reading, "read_chunks", interrupted)
    assert main(["learn", "--config", config, "--state", state, *map(str, history[:4])]) == 130
    again = ok(cli("learn", "--config", config, "--state", state, *map(str, history[:2])))
    assert "processed: 0\n" in again.stderr, "days one and two were learned already"


def test_learn_needs_a_state_file(history: list[Path], tmp_path: Path) -> None:
    config = config_of(history)
    for extra in ([], ["--state", ":memory:"], ["--state", "no/such/folder/x.db"]):
        result = cli("learn", "--config", config, *extra, str(history[0]), cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "state" in result.stderr
        assert not list(tmp_path.iterdir()), "nothing may be created"


def test_learn_into_the_configured_state_path(history: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    shutil.copytree(history[0].parent / "org", folder / "org")
    document = yaml.safe_load(Path(config_of(history)).read_text())
    document["state"] = {"path": "state/monitor.db"}
    (folder / "state").mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(document))
    result = ok(cli("learn", "--config", str(folder / "config.yaml"), str(history[0])))
    assert (folder / "state" / "monitor.db").exists()
    assert "note:" not in result.stderr, "the state run reads needs no note"


# -- run starts from the learned state (real broker) -------------------------------------------


def _history_call(n: int, days_before: int) -> dict[str, Any]:
    """Caller ``n``'s assumption, ``days_before`` days before the stream starts."""
    record = caller_copy(n)
    when = datetime.fromisoformat(record["eventTime"]) - timedelta(days=days_before)
    return {**record, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _other_role(record: dict[str, Any]) -> dict[str, Any]:
    """The same caller into another role of the same account: a pair never seen."""
    copied = json.loads(json.dumps(record))
    arn = copied["requestParameters"]["roleArn"]
    copied["requestParameters"]["roleArn"] = arn.rsplit("/", 1)[0] + "/Payroll-admin"
    return copied


@pytest.mark.kafka
def test_run_starts_from_the_learned_state(
    kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    """A pair learned from history is not new to ``run``; a pair never seen is, since the
    learning period (counted from the history) is over."""
    setup = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(setup.dead_letter_topic)
    config = setup.config()
    past = tmp_path / "history.json"
    past.write_text(json.dumps([_history_call(0, 10), _history_call(1, 9)]))
    ok(cli("learn", "--config", str(config), str(past)))
    assert setup.delivered() == [], "learn delivers nothing, not even to the configured sinks"

    known, new = caller_copy(5), _other_role(caller_copy(6))
    stream = tmp_path / "stream.json"
    stream.write_text(json.dumps([known, new]))
    oracle = tmp_path / "oracle.db"
    shutil.copy(tmp_path / "state-a.db", oracle)
    replayed = ok(cli("replay", "--config", str(config), "--state", str(oracle), str(stream)))
    expected = finding_ids(line.encode() for line in replayed.stdout.splitlines())

    send(
        setup.bootstrap, setup.topic, [Message(None, json.dumps(r).encode()) for r in (known, new)]
    )
    service = Service(config)
    try:
        wait_until(
            lambda: sorted(setup.delivered()) == sorted(expected) and setup.all_committed(),
            timeout=60,
            what="the findings replay gives from the same learned state",
        )
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    findings = [json.loads(line) for line in setup.findings_file().read_text().splitlines()]
    first_seen = [f["event_id"] for f in findings if f["detector"] == "cross_account_first_seen"]
    assert first_seen == [new["eventID"]], "the learned pair must not be new"
    assert {f["event_id"] for f in findings} == {known["eventID"], new["eventID"]}


@pytest.mark.kafka
def test_learn_then_run_on_the_last_day_raises_what_replay_over_all_days_raises(
    kafka_broker: KafkaBroker, kafka_topic: str, history: list[Path], tmp_path: Path
) -> None:
    """The issue's promise end to end: learn eight days, then the ninth through Kafka (as one
    CloudTrail log file, so its order is the file's) pages exactly what a replay of all nine
    days raises on the ninth."""
    setup = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(setup.dead_letter_topic)
    document = yaml.safe_load(setup.config().read_text())
    history_config = yaml.safe_load(Path(config_of(history)).read_text())
    organisation = history[0].parent / "org"
    history_config["organization"]["accounts_file"] = str(organisation / "accounts.json")
    history_config["inventory"]["authorization_details"] = [
        str(history[0].parent / path)
        for path in history_config["inventory"]["authorization_details"]
    ]
    config = tmp_path / "config-a.yaml"
    config.write_text(yaml.safe_dump({**history_config, **{
        key: document[key] for key in ("kafka", "state", "alerts", "metrics", "log")
    }}))  # fmt: skip
    whole = ok(cli("replay", "--config", config_of(history), *map(str, history))).stdout
    last_day = [line for line in whole.splitlines() if '"event_time":"2026-11-09' in line]
    expected = finding_ids(line.encode() for line in last_day)
    assert expected

    ok(cli("learn", "--config", str(config), *map(str, history[:-1])))
    send(setup.bootstrap, setup.topic, [Message(None, history[-1].read_bytes())])
    service = Service(config)
    try:
        wait_until(
            lambda: len(setup.delivered()) >= len(expected) and setup.all_committed(),
            timeout=90,
            what="the ninth day's findings",
        )
        assert service.stop()[0] == 0
    finally:
        service.ensure_stopped()
    delivered = setup.delivered()
    assert len(delivered) == len(set(delivered)), "each finding once"
    assert set(delivered) == set(expected)
