"""Findings rendered for a person at a terminal (``--format pretty``, ``make demo``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from monitor.findings import Finding

_MARK = {"critical": "!!!", "high": "!! ", "medium": "!  ", "low": ".  ", "info": "   "}


class PrettySink:
    name = "pretty"

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def send(self, findings: Sequence[Finding]) -> None:
        for finding in findings:
            self.out.write(render(finding))

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


def render(finding: Finding) -> str:
    time = finding.model_dump(mode="json")["event_time"]
    lines = [
        f"{_MARK[finding.severity.value]} {finding.severity.value.upper():8} "
        f"{finding.detector}  {time}",
        f"    {finding.title}",
        f"    who:   {finding.principal} (account {finding.principal_account or '?'})",
        f"    role:  {finding.role_arn or '-'}",
        f"    from:  {finding.source_ip or '-'}  via {finding.event_name}"
        f"  [{finding.category}, metadata: {finding.metadata}]",
        f"    event: {finding.event_id}",
    ]
    return "\n".join(lines) + "\n\n"
