"""The crash window of a checkpoint: from the first finding a sink accepts to the commit that
records it as taken.

A kill -9 inside that window sends again what the sink took (the state does not know it).
``python -m bench.crash_window`` measures it side by side for the order before issue 12
(deliver, flush, expire old state, commit: the whole batch is in the window) and now (the
outbox of issue 20: state and outbox committed first, then each chunk is sent and dropped from
the outbox in its own commit, so the window holds one chunk's send and one small commit), on
a file state holding expired rows, with a batch of 752 findings as measured in issue 12.
Prints the median and worst window of each and their ratio.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.service.app import build_monitor
from monitor.service.checkpoint import Batch, Checkpointer, DeadLetterOutput
from monitor.sinks.delivery import Delivery

FINDINGS = 752
EXPIRED_ROWS = 200_000
ROUNDS = 5
ORG = "111122223333"


class TimingSink:
    """Accepts everything; remembers when it first accepted something."""

    name = "timing"

    def __init__(self) -> None:
        self.first: float | None = None

    def send(self, findings: Sequence[Finding]) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def flush(self) -> None: ...

    def close(self) -> None: ...


class OldOrder(Checkpointer):
    """The order before issue 12: housekeeping between the flush and the commit."""

    def run(self, batch: Batch) -> None:
        if batch.findings:
            self.delivery.deliver(batch.findings)
            self.delivery.flush()
        self._housekeeping()
        self.state.commit()
        self.delivery.checkpoint_done()
        batch.clear()


def record(n: int, at: datetime) -> bytes:
    outsider = f"7777{n % 10**8:08d}"
    return orjson.dumps(
        {
            "eventVersion": "1.08",
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventID": f"ev-{n}",
            "sharedEventID": f"sh-{n}",
            "awsRegion": "us-east-1",
            "recipientAccountId": ORG,
            "sourceIPAddress": "192.0.2.1",
            "userAgent": "bench",
            "userIdentity": {
                "type": "IAMUser",
                "accountId": outsider,
                "principalId": f"AIDA{n:016d}",
                "arn": f"arn:aws:iam::{outsider}:user/u{n}",
            },
            "requestParameters": {
                "roleArn": f"arn:aws:iam::{ORG}:role/Target",
                "roleSessionName": f"s{n}",
            },
            "responseElements": {"assumedRoleUser": {"arn": "x", "assumedRoleId": "y"}},
        }
    )


def one_round(folder: Path, order: type[Checkpointer], round_no: int) -> float:
    settings = Settings(organization={"accounts": [ORG]}, state={"path": "s.db"})
    monitor = build_monitor(settings, state_path=str(folder / f"{order.__name__}-{round_no}.db"))
    old = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(EXPIRED_ROWS):  # expired by the time the batch below is checkpointed
        monitor.state.see("bench", f"k{n}", old)
    monitor.state.commit()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    batch = Batch()
    for n in range(FINDINGS):
        at = now + timedelta(seconds=n)
        batch.findings.extend(monitor.pipeline.process(record(n, at)).findings)
    sink = TimingSink()
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    checkpointer = order(
        delivery,
        monitor.state,
        DeadLetterOutput(None, lambda: None),  # type: ignore[arg-type,return-value]
        lambda offsets: None,
        housekeeping=monitor.pipeline.maybe_prune,
    )
    commit, done = monitor.state.commit, monitor.state.outbox_done
    ends: list[float] = []

    def timed_commit() -> None:
        commit()
        ends.append(time.perf_counter())

    def timed_done(sink: str, ids: Sequence[str], commit: bool = True) -> None:
        done(sink, ids, commit)
        if commit:
            ends.append(time.perf_counter())

    monitor.state.commit = timed_commit  # type: ignore[method-assign]
    monitor.state.outbox_done = timed_done  # type: ignore[method-assign]
    checkpointer.run(batch)
    monitor.close()
    assert sink.first is not None
    first = sink.first
    return (min(end for end in ends if end > first) - first) * 1000  # the window's end


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {}
        for order in (OldOrder, Checkpointer):
            windows = [one_round(folder, order, n) for n in range(ROUNDS)]
            results[order.__name__] = windows
            print(
                f"{order.__name__:12} window median {statistics.median(windows):8.2f} ms, "
                f"worst {max(windows):8.2f} ms ({FINDINGS} findings, {EXPIRED_ROWS:,} expired rows)"
            )
    before = statistics.median(results["OldOrder"])
    after = statistics.median(results["Checkpointer"])
    print(f"ratio before/after (median): {before / after:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
