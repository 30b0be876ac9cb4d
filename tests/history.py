"""Days of an organisation's CloudTrail, one gzip'd log file a day, for learn/tune tests.

Built by the benchmark's generator (bench/generate.py: real record shapes, a role catalog with
real trust policies), its clock stretched so that ``records`` spread evenly over ``days``.
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import yaml
from helpers import REPO


def _bench_generate() -> ModuleType:
    # bench/ is not an installed package; load its generator straight from the file.
    spec = importlib.util.spec_from_file_location("bench_generate", REPO / "bench/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


generate = _bench_generate()


#: The vendor's poller, which leaves out its ExternalId: a steady, known source of findings.
POLLER = {
    "type": "IAMUser",
    "principalId": "AIDAVENDORPOLLER0001",
    "arn": f"arn:aws:iam::{generate.VENDOR}:user/poller",
    "accountId": generate.VENDOR,
    "accessKeyId": "AKIAVENDORPOLLER0001",
    "userName": "poller",
}


class DaysGenerator(generate.Generator):  # type: ignore[misc,name-defined]
    """The benchmark's stream with ``records`` spread over ``days`` instead of 7 ms apart, and
    every ``poll_every``-th assumption the vendor's poller into one of three roles."""

    def __init__(self, spec: Any, days: int, poll_every: int = 20) -> None:
        super().__init__(spec)
        self.step = timedelta(days=days) / spec.records
        self.poll_every = poll_every
        self.polls = 0

    def _time(self, index: int) -> str:
        return (self.start + self.step * index).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _sts(self, index: int) -> Iterator[dict[str, Any]]:
        self.polls += 1
        if self.polls % self.poll_every:
            yield from super()._sts(index)
            return
        n = self.polls // self.poll_every % 3  # workload-n lives in ORG[n] (bench/generate.py)
        yield self._assume(index, POLLER, f"arn:aws:iam::{generate.ORG[n]}:role/workload-{n}")


def write_history(folder: Path, days: int = 9, per_day: int = 700) -> list[Path]:
    """One ``day-NN.json.gz`` log file per day (oldest first) and ``config.yaml`` in ``folder``."""
    spec = generate.StreamSpec(records=days * per_day, sts_share=0.6, principals=300, roles=60)
    by_day: dict[str, list[bytes]] = {}
    for record in DaysGenerator(spec, days).records():
        by_day.setdefault(record["eventTime"][:10], []).append(orjson.dumps(record))
    paths = []
    for number, (_, records) in enumerate(sorted(by_day.items()), 1):
        path = folder / f"day-{number:02d}.json.gz"
        path.write_bytes(gzip.compress(b'{"Records":[' + b",".join(records) + b"]}", mtime=0))
        paths.append(path)
    inventory = generate.write_inventory(spec, folder / "org")
    config = {
        "organization": {"accounts_file": "org/accounts.json"},
        "inventory": {"authorization_details": [str(p.relative_to(folder)) for p in inventory]},
        "trusted_external_accounts": [generate.VENDOR],
        "federation": {
            "allowed_providers": ["AWSSSO_*", "token.actions.githubusercontent.com"],
            "allowed_subjects": {"token.actions.githubusercontent.com": ["repo:acme/*"]},
        },
        "alerts": {"jsonl": {"path": "-"}},
        "metrics": {"port": None},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return paths
