"""Small builders shared by tests: settings from dicts, a pipeline, records."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.aws.arns import arn_account, last_segment
from monitor.config.settings import Settings
from monitor.findings import Finding
from monitor.service.app import Monitor, build_monitor
from monitor.sinks.delivery import Delivery

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"
REPO = Path(__file__).parent.parent


def corpus_record(relative: str) -> dict[str, Any]:
    """A record from tests/fixtures/corpus (first one when the file holds an array)."""
    data = json.loads((CORPUS / relative).read_text())
    return copy.deepcopy(data[0] if isinstance(data, list) else data)


# -- CloudTrail records ---------------------------------------------------------------------------


def cloudtrail(
    event_name: str,
    *,
    event_id: str,
    time: str,
    account: str,
    caller: dict[str, Any],
    request: dict[str, Any] | None,
    response: dict[str, Any] | None = None,
    source: str = "sts.amazonaws.com",
    **fields: Any,
) -> dict[str, Any]:
    """One CloudTrail record as the trail writes it; ``fields`` adds or replaces top-level keys
    (``awsRegion``, ``errorCode``, ``eventVersion``...)."""
    return {
        "eventVersion": "1.08",
        "eventSource": source,
        "eventName": event_name,
        "eventTime": time,
        "eventID": event_id,
        "recipientAccountId": account,
        "userIdentity": caller,
        "requestParameters": request,
        "responseElements": response,
        **fields,
    }


def assume_role(
    role_arn: str,
    caller: dict[str, Any],
    *,
    event_id: str,
    time: str = "2026-11-01T10:00:00Z",
    session: str = "s",
    account: str | None = None,
    response: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A successful ``AssumeRole`` of ``role_arn`` by ``caller``, logged in the role's account
    unless ``account`` says another (the caller's copy); ``response`` replaces the issued
    session."""
    account = account or arn_account(role_arn) or ""
    issued = f"arn:aws:sts::{arn_account(role_arn)}:assumed-role/{last_segment(role_arn)}/{session}"
    if response is None:
        response = {"assumedRoleUser": {"arn": issued}}
    return cloudtrail(
        "AssumeRole",
        event_id=event_id,
        time=time,
        account=account,
        caller=caller,
        request={"roleArn": role_arn, "roleSessionName": session},
        response=response,
        **fields,
    )


def iam_user(account: str, name: str) -> dict[str, Any]:
    """The ``userIdentity`` of IAM user ``name`` (a principal id derived from the name)."""
    return {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "principalId": "AIDA" + name.upper().ljust(16, "X"),
        "userName": name,
    }


def varied(record: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``record`` with ``changes``; ``a__b`` keys set nested fields."""
    data = copy.deepcopy(record)
    for key, value in changes.items():
        target = data
        *parents, leaf = key.split("__")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return data


def settings(**sections: Any) -> Settings:
    return Settings(base_dir=REPO, **{"state": {"path": ":memory:"}, **sections})


class ListSink:
    """Collects what it is sent (the sink contract, in memory)."""

    name = "list"

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def send(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    def flush(self) -> None: ...

    def close(self) -> None: ...


def run_records(records: list[Any], config: Settings | None = None) -> tuple[Monitor, ListSink]:
    """Each record as its own message through a fresh monitor; findings collected."""
    monitor = build_monitor(config or settings(), state_path=":memory:")
    sink = ListSink()
    delivery = Delivery([sink], monitor.state, monitor.metrics)
    for record in records:
        payload = record if isinstance(record, bytes) else json.dumps(record).encode()
        delivery.deliver(monitor.pipeline.process(payload).findings)
    return monitor, sink


def cli(*args: str, cwd: Path = REPO, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``role-monitor ARGS`` in a child process (text in and out)."""
    command = [sys.executable, "-m", "monitor.cli", *args]
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``result``, once it is known to have succeeded (else its stderr is the failure)."""
    assert result.returncode == 0, result.stderr
    return result
