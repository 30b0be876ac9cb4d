"""``role-monitor run`` under faults (issue 12): a full disk, a sink that never answers, a huge
message in hand, a flood of idle connections, each against the real broker in a real process.

What is asserted is what a user sees: every finding in the file once and whole, the exit status
and how long SIGTERM took, what the group committed.
"""

from __future__ import annotations

import resource
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka_service import Service, Setup, owed, send, wait_until
from kafka_stream import Message, caller_copy, cloudwatch_logs, expected_findings, sts_stream
from plugins.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

BUDGET_S = 10.0


@pytest.fixture
def setup(kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path) -> Setup:
    made = Setup(kafka_broker.bootstrap, kafka_topic, tmp_path)
    kafka_broker.create_topic(made.dead_letter_topic)
    return made


def edited(config: Path, **sections: Any) -> Path:
    """``config`` with whole sections' keys replaced."""
    document = yaml.safe_load(config.read_text())
    for section, values in sections.items():
        document.setdefault(section, {}).update(values)
    config.write_text(yaml.safe_dump(document))
    return config


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (an Alertmanager that hangs)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_full_disk_leaves_whole_lines_and_repeats_nothing(setup: Setup) -> None:
    """Point 5: the JSON-lines file hits RLIMIT_FSIZE half way; once the limit is lifted every
    finding is in the file exactly once and every line is whole JSON."""
    messages = sts_stream(0, 200, noise_every=10**9)
    expected = expected_findings(messages)
    total = sum(len(f.to_json()) + 1 for f in expected.values())
    limit = total // 2 + 101  # cuts a line in the middle
    send(setup.bootstrap, setup.topic, messages)
    config = edited(setup.config(metrics_port=0), state={"path": ":memory:"})

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    service = Service(config, preexec=small_files)
    try:
        wait_until(
            lambda: service.metric("role_monitor_sink_up", sink="jsonl") == 0, 60, "a full disk"
        )
        assert setup.findings_file().stat().st_size <= limit
        resource.prlimit(
            service.process.pid,
            resource.RLIMIT_FSIZE,
            (resource.RLIM_INFINITY, resource.RLIM_INFINITY),
        )
        wait_until(
            lambda: set(setup.delivered()) == set(expected) and setup.all_committed(),
            60,
            "every finding once space returned",
        )
        code, _ = service.stop()
    finally:
        service.ensure_stopped()
    assert code == 0
    delivered = setup.delivered()  # parses every line: a partial line would raise
    assert not [fid for fid, n in Counter(delivered).items() if n > 1], "repeated findings"
    assert setup.findings_file().read_bytes().endswith(b"\n")


def test_sigterm_with_a_sink_that_never_answers(setup: Setup, silent_server: str) -> None:
    """Point 6: the final checkpoint hangs in Alertmanager; exit 0 within 10 s, one warning.
    The batch's offsets are committed only because its findings are durable in the outbox,
    where the silent sink still owes them (the next start delivers them)."""
    messages = sts_stream(0, 50, noise_every=10**9)
    send(setup.bootstrap, setup.topic, messages)
    config = setup.config(
        commit_interval="60s",
        commit_every=10**6,
        urgent_severity="critical",  # the stream's high findings wait for the final checkpoint
        metrics_port=0,
        alerts={"alertmanager": {"url": silent_server}},
    )
    service = Service(config)
    try:
        service.wait_assigned()
        wait_until(
            lambda: (service.metric("role_monitor_records_total", outcome="processed") or 0) >= 50,
            30,
            "the batch in hand",
        )
        code, seconds = service.stop()
    finally:
        service.ensure_stopped()
    assert code == 0 and seconds < BUDGET_S, (code, seconds)
    warning = "shutdown budget spent; exiting now, uncommitted work is read again at the next "
    assert len(service.logged(warning + "start")) == 1
    committed, _ = setup.offsets()
    assert sum(committed.values()) == len(messages), "the batch is committed with its outbox"
    assert owed(setup.folder / "state-a.db", "alertmanager") > 0, "the silent sink owes them"


def test_sigterm_in_the_middle_of_a_large_message(setup: Setup) -> None:
    """Point 6: one CloudWatch Logs payload of 20,000 events takes longer than the shutdown
    budget on a loaded machine; SIGTERM in the middle of it still exits 0 in time, and its offset
    is committed only if the message was finished and every finding of it delivered (a fast
    machine may finish it before the watchdog)."""
    records = [caller_copy(n) for n in range(20_000)]  # 0.86 MB gzip'd, seconds of work
    message = Message(None, cloudwatch_logs(records))
    send(setup.bootstrap, setup.topic, [message])
    config = setup.config(metrics_port=0)
    service = Service(config)
    try:
        service.wait_assigned()
        wait_until(
            lambda: (service.metric("role_monitor_records_total", outcome="processed") or 0) > 0,
            30,
            "the large message being processed",
        )
        code, seconds = service.stop()
    finally:
        service.ensure_stopped()
    assert code == 0 and seconds < BUDGET_S, (code, seconds)
    committed, _ = setup.offsets()
    if set(committed.values()) != {0}:
        assert sorted(setup.delivered()) == sorted(expected_findings([message]))


def test_sigterm_with_a_flood_of_idle_connections(setup: Setup) -> None:
    """Point 2: 1,500 idle connections to /metrics neither take 1,500 threads nor crash the
    shutdown (it used to end in SIGSEGV: the state closed under a scrape)."""
    send(setup.bootstrap, setup.topic, sts_stream(0, 20))
    service = Service(setup.config(metrics_port=0))
    idle: list[socket.socket] = []
    try:
        service.wait_assigned()
        wait_until(lambda: service.metric("role_monitor_ready") == 1, 30, "ready")
        port = service.logged("serving /metrics, /healthz, /readyz")[0]["fields"]["port"]
        for _ in range(1500):
            conn = socket.socket()
            conn.setblocking(False)
            conn.connect_ex(("127.0.0.1", port))
            idle.append(conn)
        threads = int(
            Path(f"/proc/{service.process.pid}/status").read_text().split("Threads:")[1].split()[0]
        )
        code, seconds = service.stop()
    finally:
        service.ensure_stopped()
        for conn in idle:
            conn.close()
    assert code == 0 and seconds < BUDGET_S, (code, seconds)
    assert threads < 60, f"{threads} threads for 1,500 idle connections"


def test_a_deleted_state_file_is_reported_loudly(setup: Setup) -> None:
    """Point 8: the group has committed offsets but the state file is gone: a warning and
    ``role_monitor_state_reset 1``, instead of a silent 7-day relearning."""
    messages = sts_stream(0, 20)
    send(setup.bootstrap, setup.topic, messages)
    config = setup.config(metrics_port=0)
    first = Service(config)
    try:
        wait_until(setup.all_committed, 60, "the first run committing")
        assert first.stop()[0] == 0
    finally:
        first.ensure_stopped()
    for path in setup.folder.glob("state-a.db*"):
        path.unlink()
    send(setup.bootstrap, setup.topic, sts_stream(20, 5))
    again = Service(config, name="a2")
    try:
        wait_until(lambda: again.metric("role_monitor_state_reset") == 1, 60, "the reset metric")
        assert len(again.logged(STATE_LOST)) == 1
        assert again.stop()[0] == 0
    finally:
        again.ensure_stopped()


STATE_LOST = (
    "the group has committed offsets but the state is empty: was the state file deleted? "
    "first-seen detection learns again from now"
)
