"""Where ``tune`` groups findings when the noise is spread thin: at the level of a mechanism.

In a growing organisation no (principal, role) pair repeats: each preview namespace, release
tag, vended account or provider is new once. What repeats is the mechanism, the way an operator
says it: "the Terraform hub reaching its execution role in a member account", "preview
namespaces of this cluster's service account", "this principal rotating thumbprints". Each
function here gives the rule's ``match`` for one mechanism, or None when the finding is not of
that shape. Every glob keeps the fixed parts literal and widens only the part that varies by
design (an account id as twelve digits, a session name, a tag, a namespace's number), and no
rule is built on a field that is empty.
"""

from __future__ import annotations

import re
from typing import Any

#: Twelve digits: any account id, and nothing else.
ACCOUNT_GLOB = "[0-9]" * 12
#: STS calls (assumptions, tokens); anything else a finding is on is a change record.
_STS_CALLS = ("Assume", "GetSessionToken", "GetFederationToken")
_SESSION = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")
_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")
_GITHUB_REF = re.compile(r"^(repo:[^:/]+/[^:]+:ref:refs/(?:heads|tags|pull)/).+$")
_GITHUB_ENVIRONMENT = re.compile(r"^(repo:[^:/]+/[^:]+:environment:)(.+)$")
_SERVICE_ACCOUNT = re.compile(r"^(system:serviceaccount:)([^:]+)(:[^:]+)$")
_DIGITS = re.compile(r"(\d+)")
_GLOB = re.compile(r"([*?\[])")

Match = dict[str, str]


def literal(value: str) -> str:
    """A glob matching ``value`` only (``*``, ``?`` and ``[`` escaped as ``[*]`` …)."""
    return _GLOB.sub(r"[\1]", value)


def mechanism(finding: dict[str, Any]) -> tuple[str, Match] | None:
    """(mechanism name, rule match) for ``finding``, the first shape it has, else None."""
    for name, build in (
        ("subject template", subject_template),
        ("hub role name", hub_role_name),
        ("change set", change_set),
    ):
        match = build(finding)
        if match is not None:
            return name, match
    return None


def subject_template(finding: dict[str, Any]) -> Match | None:
    """A federated subject's template (``refs/tags/*``, namespace ``pr-*``, any person of a SAML
    provider), for one provider and role."""
    evidence = finding.get("evidence")
    federation = evidence.get("federation") if isinstance(evidence, dict) else None
    if not isinstance(federation, dict):
        return None
    provider, subject, role = (
        federation.get("provider"),
        federation.get("subject"),
        finding.get("role_arn"),
    )
    if not (_text(provider) and _text(subject) and _text(role)):
        return None
    template = subject_glob(str(subject), str(federation.get("kind") or ""))
    if template is None:
        return None
    return {
        "evidence.federation.provider": literal(str(provider)),
        "evidence.federation.subject": template,
        "role_arn": literal(str(role)),
    }


def subject_glob(subject: str, kind: str) -> str | None:
    """The template a person reads in ``subject``; None when it has no varying part."""
    if kind == "saml":  # people signing in through the provider: each person is an instance
        return "*"
    ref = _GITHUB_REF.match(subject)
    if ref:
        return literal(ref.group(1)) + "*"
    environment = _GITHUB_ENVIRONMENT.match(subject)
    if environment:
        varying = digits_glob(environment.group(2))
        return literal(environment.group(1)) + varying if varying else None
    account = _SERVICE_ACCOUNT.match(subject)
    if account:
        namespace = digits_glob(account.group(2))
        return (
            literal(account.group(1)) + namespace + literal(account.group(3)) if namespace else None
        )
    return None


def digits_glob(text: str) -> str | None:
    """``pr-1234`` → ``pr-*``: runs of digits widened, the rest literal; None without digits."""
    parts = _DIGITS.split(text)
    if len(parts) == 1:
        return None
    return "".join("*" if index % 2 else literal(part) for index, part in enumerate(parts))


def hub_role_name(finding: dict[str, Any]) -> Match | None:
    """A role's sessions reaching one role name in other accounts (of the same relation)."""
    session = _SESSION.match(str(finding.get("principal") or ""))
    role = _ROLE.match(str(finding.get("role_arn") or ""))
    category = finding.get("category")
    if session is None or role is None or not _text(category):
        return None
    partition, source_account, source_role = session.groups()
    if role.group(2) == source_account:
        return None
    return {
        "principal": session_glob(partition, source_account, source_role),
        "role_arn": literal(f"arn:{role.group(1)}:iam::")
        + ACCOUNT_GLOB
        + literal(f":role/{role.group(3)}"),
        "category": literal(str(category)),
    }


def change_set(finding: dict[str, Any]) -> Match | None:
    """One principal making one kind of change (a thumbprint rotation across providers)."""
    event_name, principal = finding.get("event_name"), finding.get("principal")
    if not (_text(event_name) and _text(principal)) or str(event_name).startswith(_STS_CALLS):
        return None
    session = _SESSION.match(str(principal))
    who = session_glob(*session.groups()) if session else literal(str(principal))
    return {"principal": who, "event_name": literal(str(event_name))}


def session_glob(partition: str, account: str, role: str) -> str:
    """Every session of one role: session names vary per run (a pipeline id, a person)."""
    return literal(f"arn:{partition}:sts::{account}:assumed-role/{role}/") + "*"


def _text(value: object) -> bool:
    return value is not None and str(value) != ""
