"""Fixtures for a real Apache Kafka broker, started by ``scripts/kafka-local``.

Why a real broker: offsets, consumer groups and restarts are exactly what the monitor gets
wrong against a fake. The session starts one isolated broker in a temp dir (its own ports and
data, so it never collides with a demo broker or another test run) and stops it at the end.

``KAFKA_BOOTSTRAP=host:port`` points the suite at an existing broker instead; that broker cannot
be restarted from here, so restart tests are skipped locally and fail in CI (CI must not
silently lose coverage). A broker that fails to start fails the tests, never skips them.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "kafka-local"
# Generous: the first start may fetch Kafka from Maven Central; the script itself gives the
# broker 90 s to become ready.
SCRIPT_TIMEOUT_S = 600
TOPIC_PARTITIONS = 3


class KafkaBroker:
    """A broker the tests talk to; restartable when this session started it."""

    def __init__(self, bootstrap: str, state_dir: Path | None) -> None:
        self.bootstrap = bootstrap
        self.state_dir = state_dir

    @property
    def managed(self) -> bool:
        """True when this session owns the broker process (so it may stop and start it)."""
        return self.state_dir is not None

    def start(self) -> None:
        """Starts the broker again with its data and ports kept (for restart tests)."""
        state_dir = self.require_managed("start")
        self.bootstrap = run_script("start", state_dir)

    def stop(self) -> None:
        """Stops the broker gracefully; the data stays for the next ``start``."""
        run_script("stop", self.require_managed("stop"))

    def ensure_running(self) -> None:
        """Restarts a broker that an earlier (failed) restart test left stopped."""
        if self.managed and not self._running():
            self.start()

    def admin(self) -> KafkaAdminClient:
        """An admin client for this broker; the caller closes it."""
        return KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="tests-kafka-broker")

    def create_topic(self, name: str, partitions: int = 1) -> str:
        """Creates a topic and waits until every partition has a leader, so tests can use it."""
        admin = self.admin()
        try:
            admin.create_topics(
                {name: {"num_partitions": partitions, "replication_factor": 1}},
                wait_for_metadata=True,
            )
        finally:
            admin.close()
        return name

    def delete_topic(self, name: str) -> None:
        """Deletes a topic; used to keep an external, shared broker tidy."""
        admin = self.admin()
        try:
            admin.delete_topics([name])
        finally:
            admin.close()

    def _running(self) -> bool:
        assert self.state_dir is not None
        status = subprocess.run(
            [str(SCRIPT), "--dir", str(self.state_dir), "status"],
            capture_output=True,
            text=True,
            check=False,
        )
        return status.returncode == 0

    def require_managed(self, action: str) -> Path:
        """The state dir; skips (fails in CI) when the broker is external and cannot be managed."""
        if self.state_dir is not None:
            return self.state_dir
        message = f"cannot {action} the external broker KAFKA_BOOTSTRAP={self.bootstrap}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def run_script(command: str, state_dir: Path) -> str:
    """Runs ``scripts/kafka-local COMMAND --dir STATE_DIR`` and returns its stdout.

    A failure fails the test (with the broker's log tail the script prints): a missing broker
    is a broken environment, and skipping would hide it in CI.
    """
    args = [str(SCRIPT), "--dir", str(state_dir), command]
    if command == "start":
        # If pytest dies without running teardown, the broker stops itself.
        args += ["--owner-pid", str(os.getpid())]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} timed out after {SCRIPT_TIMEOUT_S}s\n{_log_tail(state_dir)}")
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


def _log_tail(state_dir: Path, lines: int = 40) -> str:
    log = state_dir / "kafka.log"
    if not log.exists():
        return f"(no {log})"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def unique_topic_name(test_name: str) -> str:
    """A topic name no other test (or earlier run on a shared broker) has used."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", test_name).strip("-")[:80]
    return f"test-{safe}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """The session's broker: ``KAFKA_BOOTSTRAP`` if set, else a fresh one in a temp dir."""
    external = os.environ.get("KAFKA_BOOTSTRAP")
    if external:
        yield KafkaBroker(external, state_dir=None)
        return
    state_dir = tmp_path_factory.mktemp("kafka")
    broker = KafkaBroker(run_script("start", state_dir), state_dir)
    try:
        yield broker
    finally:
        run_script("stop", state_dir)


@pytest.fixture
def kafka_topic(kafka_broker: KafkaBroker, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty topic with several partitions, so tests never see each other's records."""
    kafka_broker.ensure_running()
    name = kafka_broker.create_topic(unique_topic_name(request.node.name), TOPIC_PARTITIONS)
    yield name
    if not kafka_broker.managed:
        kafka_broker.delete_topic(name)
