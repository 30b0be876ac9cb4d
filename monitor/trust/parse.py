"""Reading a trust-policy document into a `TrustPolicy`, whatever shape it arrives in.

Why lenient: documents come from boto3 (already a dict), from `aws iam get-role` (URL-encoded
JSON text), from authorization-details exports and from hand-written snapshot files. A monitor
that raised on one odd role would stop enriching every event, so each unreadable part becomes a
line in `TrustPolicy.problems` and the readable rest is kept.

One rule for partial junk: a statement with an unreadable Effect, Condition, Principal or
NotPrincipal is dropped whole, because keeping it without that part would make it mean something
the author never wrote (an Allow with its conditions gone, a NotPrincipal that excludes no one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from monitor.aws.arns import account_id, arn_resource, is_unique_id
from monitor.aws.policy import UNREADABLE, load_policy_text
from monitor.trust.model import (
    Effect,
    PrincipalKind,
    PrincipalRef,
    TrustCondition,
    TrustGrant,
    TrustPolicy,
)

_MAX_TEXT_LAYERS = 3
"""JSON text inside JSON text happens (double-encoded exports); deeper nesting is junk."""

_PUBLIC = PrincipalRef(PrincipalKind.PUBLIC, "*")
_SIMPLE_KINDS = {"Service": PrincipalKind.SERVICE, "CanonicalUser": PrincipalKind.CANONICAL_USER}
_BOOLEAN_OPERATORS = frozenset({"bool", "null"})


def parse_document(doc: object) -> TrustPolicy:
    """Parse `doc` (mapping, JSON text, URL-encoded JSON text or bytes); never raises."""
    problems: list[str] = []
    body = _decode(doc, problems)
    if body is None:
        return TrustPolicy(problems=tuple(problems))
    grants: list[TrustGrant] = []
    for index, statement in _statements(body, problems):
        grants.extend(_read_statement(index, statement, problems))
    version = body.get("Version")
    return TrustPolicy(
        tuple(grants), tuple(problems), version if isinstance(version, str) else None
    )


def _decode(doc: object, problems: list[str]) -> Mapping[Any, Any] | None:
    if isinstance(doc, bytes | bytearray):
        doc = bytes(doc).decode("utf-8", errors="replace")
    for _ in range(_MAX_TEXT_LAYERS):
        if not isinstance(doc, str):
            break
        doc = load_policy_text(doc)
    if isinstance(doc, Mapping):
        return doc
    if isinstance(doc, str) or doc is UNREADABLE:
        problems.append("policy document is not JSON (nor URL-encoded JSON)")
    else:
        problems.append(f"policy document is {_type_name(doc)}, not a JSON object")
    return None


def _type_name(value: object) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def _statements(
    body: Mapping[Any, Any], problems: list[str]
) -> list[tuple[int, Mapping[Any, Any]]]:
    """The statements with their position; `Statement` may be one object or a list."""
    raw = body.get("Statement")
    if raw is None:
        problems.append("policy has no Statement")
        return []
    items = raw if isinstance(raw, list) else [raw]
    found: list[tuple[int, Mapping[Any, Any]]] = []
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            found.append((index, item))
        else:
            problems.append(f"Statement[{index}] is {_type_name(item)}, not an object")
    return found


def _read_statement(
    index: int, statement: Mapping[Any, Any], problems: list[str]
) -> list[TrustGrant]:
    """The grants of one statement: one per principal, or one PUBLIC grant for NotPrincipal."""
    where = f"Statement[{index}]"
    effect = _effect(statement.get("Effect"), where, problems)
    conditions = _conditions(statement.get("Condition"), where, problems)
    actions = _strings(statement.get("Action"), f"{where}.Action", problems)
    not_actions = _strings(statement.get("NotAction"), f"{where}.NotAction", problems)
    if effect is None or conditions is None:
        return []
    if not actions and not not_actions:
        problems.append(f"{where} has no readable Action or NotAction")
        return []
    sid = statement.get("Sid")
    template = TrustGrant(
        effect=effect,
        principal_kind=PrincipalKind.PUBLIC,
        principal="*",
        principal_account=None,
        actions=actions,
        conditions=conditions,
        not_actions=not_actions,
        statement_index=index,
        sid=sid if isinstance(sid, str) else None,
    )
    return _principal_grants(statement, template, where, problems)


def _principal_grants(
    statement: Mapping[Any, Any], template: TrustGrant, where: str, problems: list[str]
) -> list[TrustGrant]:
    """`template` once per principal, or once with the NotPrincipal list as its exclusions."""
    if "Principal" in statement:
        if "NotPrincipal" in statement:
            problems.append(f"{where} has both Principal and NotPrincipal; NotPrincipal ignored")
        refs = _principals(statement["Principal"], f"{where}.Principal", problems)
        return [
            replace(template, principal_kind=r.kind, principal=r.value, principal_account=r.account)
            for r in refs
        ]
    if "NotPrincipal" in statement:
        excluded = _principals(statement["NotPrincipal"], f"{where}.NotPrincipal", problems)
        if excluded:
            return [replace(template, excluded_principals=excluded)]
        problems.append(f"{where} has an unreadable NotPrincipal; statement skipped")
        return []
    problems.append(f"{where} has no Principal")
    return []


def _effect(value: object, where: str, problems: list[str]) -> Effect | None:
    if isinstance(value, str):
        for effect in Effect:
            if value.lower() == effect.value.lower():
                return effect
    problems.append(f"{where}: Effect {value!r} is neither Allow nor Deny; statement skipped")
    return None


def _strings(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    """A string-or-list field as a tuple; non-strings are reported and left out."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    kept = tuple(item for item in items if isinstance(item, str))
    if len(kept) != len(items):
        problems.append(f"{where}: ignored {len(items) - len(kept)} value(s) that are not strings")
    return kept


def _principals(value: object, label: str, problems: list[str]) -> tuple[PrincipalRef, ...]:
    """`"*"` or `{"AWS"|"Service"|"Federated"|"CanonicalUser": str | [str]}` as references."""
    if value == "*":
        return (_PUBLIC,)
    if not isinstance(value, Mapping):
        problems.append(f"{label} {_short(value)} is neither '*' nor an object")
        return ()
    refs: list[PrincipalRef] = []
    for field, raw in value.items():
        if field not in ("AWS", "Federated", *_SIMPLE_KINDS):
            problems.append(f"{label}: unknown principal type {_short(field)}")
            continue
        for text in _strings(raw, f"{label}.{field}", problems):
            refs.append(_principal_ref(field, text, f"{label}.{field}", problems))
    return tuple(refs)


def _principal_ref(field: str, value: str, where: str, problems: list[str]) -> PrincipalRef:
    """Read one principal value; `*` in any field means anyone (the broadest reading)."""
    if value == "*":
        return _PUBLIC
    if field == "AWS":
        return _aws_principal(value, where, problems)
    if field == "Federated":
        return _federated_principal(value)
    return PrincipalRef(_SIMPLE_KINDS[field], value)


def _aws_principal(value: str, where: str, problems: list[str]) -> PrincipalRef:
    account = account_id(value)
    if account == value:
        return PrincipalRef(PrincipalKind.ACCOUNT_ROOT, value, account)
    if is_unique_id(value):
        return PrincipalRef(PrincipalKind.UNIQUE_ID, value)
    resource = arn_resource(value)
    if resource is None:
        problems.append(
            f"{where}: {_short(value)} is neither an account id, an ARN nor a unique id"
        )
    elif account is None:
        problems.append(f"{where}: {_short(value)} has no 12-digit account id")
    kind = PrincipalKind.ACCOUNT_ROOT if resource == "root" else PrincipalKind.ARN
    return PrincipalRef(kind, value, account)


def _federated_principal(value: str) -> PrincipalRef:
    """A SAML or OIDC provider ARN, or a bare issuer such as `cognito-identity.amazonaws.com`."""
    resource = arn_resource(value) or ""
    kind = PrincipalKind.SAML_PROVIDER
    if not resource.startswith("saml-provider/"):
        kind = PrincipalKind.OIDC_PROVIDER
    return PrincipalRef(kind, value, account_id(value) if resource else None)


def _conditions(
    value: object, where: str, problems: list[str]
) -> tuple[TrustCondition, ...] | None:
    """`{operator: {key: value | [values]}}` flattened; None (skip statement) when unreadable."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        problems.append(f"{where}: Condition is {_type_name(value)}; statement skipped")
        return None
    found: list[TrustCondition] = []
    for operator, block in value.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            problems.append(
                f"{where}: Condition {_short(operator)} is unreadable; statement skipped"
            )
            return None
        for key, raw in block.items():
            values = _condition_values(raw)
            if not isinstance(key, str) or values is None:
                problems.append(f"{where}: Condition {operator}/{_short(key)} is unreadable")
                return None
            found.append(_condition(operator, key, values))
    return tuple(found)


def _condition(operator: str, key: str, values: tuple[str, ...]) -> TrustCondition:
    condition = TrustCondition(operator, key.lower(), values)
    if condition.base in _BOOLEAN_OPERATORS:
        # "True", "TRUE" and JSON true all mean the same to IAM.
        return TrustCondition(operator, condition.key, tuple(v.lower() for v in values))
    return condition


def _condition_values(raw: object) -> tuple[str, ...] | None:
    items = raw if isinstance(raw, list) else [raw]
    texts = [_scalar_text(item) for item in items]
    if any(text is None for text in texts):
        return None
    return tuple(text for text in texts if text is not None)


def _scalar_text(item: object) -> str | None:
    """A JSON scalar as IAM compares it: booleans lower-case, numbers as written."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return item
    if isinstance(item, int | float):
        return str(item)
    return None


def _short(value: object) -> str:
    """A bounded repr for problem lines, so a megabyte of junk does not end up in a log line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
