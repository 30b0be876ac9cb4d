"""Findings for sink tests: a plain one and one whose caller-supplied fields are hostile.

The hostile values are what an attacker controls in CloudTrail: user agent, session name,
principal text, and anything a detector copies into a title or evidence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.findings import Finding, Severity

SLACK_MENTION = "<!channel>"
SLACK_LINK = "<http://evil.example|click>"
HOSTILE_TEXT = (
    f'{SLACK_MENTION} {SLACK_LINK} <@U0123ABC> `rm -rf /` ```block``` *bold* _it_ "quoted" '
    "'single' \\ back\nnew line\r\n\x00\x1b[31mred\x07 \u202eevil\u202c & &amp; > < "
)
#: 200 KB of hostile text, as a user agent can be.
HUGE_AGENT = (HOSTILE_TEXT * (200_000 // len(HOSTILE_TEXT) + 1))[:200_000]


def make_finding(**changes: Any) -> Finding:
    """A break-glass finding; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "detector": "break_glass_assumed",
        "severity": Severity.CRITICAL,
        "title": "Break-glass role BreakGlassAdmin (222222222222) assumed by bob without MFA",
        "event_id": "00000000-0000-0000-0000-000000000028",
        "event_time": datetime(2026, 11, 1, 9, 15, tzinfo=UTC),
        "event_name": "AssumeRole",
        "role_arn": "arn:aws:iam::222222222222:role/BreakGlassAdmin",
        "role_account": "222222222222",
        "principal": "arn:aws:iam::111111111111:user/bob",
        "principal_account": "111111111111",
        "source_ip": "198.51.100.77",
        "user_agent": "aws-cli/2.15.30 Python/3.11.8",
        "dedup_key": "break_glass_assumed:00000000-0000-0000-0000-000000000028",
        "evidence": {"mfa_used": False, "role_session_name": "bob-emergency"},
        "assumption_id": "00000000-0000-0000-0000-000000000028",
        "category": "organization",
        "metadata": "snapshot",
        "region": "us-east-1",
    }
    fields.update(changes)
    return Finding(**fields)


def hostile_finding(**changes: Any) -> Finding:
    """Every caller-controlled field hostile; the user agent is 200 KB."""
    hostile: dict[str, Any] = {
        "title": f"Break-glass role assumed by {HOSTILE_TEXT}",
        "principal": f"arn:aws:iam::111111111111:user/{HOSTILE_TEXT}",
        "role_arn": f"arn:aws:iam::222222222222:role/{HOSTILE_TEXT}",
        "role_account": f"2222{SLACK_MENTION}",
        "source_ip": HOSTILE_TEXT,
        "user_agent": HUGE_AGENT,
        "event_name": f"AssumeRole{SLACK_LINK}",
        "evidence": {
            "role_session_name": HOSTILE_TEXT * 50,
            "nested": {"deeper": [HOSTILE_TEXT] * 500},
        },
    }
    hostile.update(changes)
    return make_finding(**hostile)
