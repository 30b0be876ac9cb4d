"""THE definition of what the monitor reads: every other module asks here.

In scope are the calls that hand out a session in a role (the STS assumption family) and the
calls that change who may get one: IAM role changes (trust policy, existence, tags), SAML and
OIDC identity-provider changes, Organizations membership changes (an account that leaves
keeps its old trust and is external from then on), and the identity paths beside IAM: Roles
Anywhere trust anchors and profiles, Identity Center permission sets and assignments, identity
store users and groups, and EKS Pod Identity associations.

Two questions, one table:

- :func:`in_scope` decides on a parsed record (used by :mod:`monitor.intake.normalize`);
- :func:`may_be_in_scope` decides on raw bytes before anything is parsed. It is conservative:
  ``False`` only when parsing could not have found an in-scope record *and* could not have
  rejected anything. A message that is one plain record is parsed instead, which costs less
  and decides exactly (:mod:`monitor.intake.front_door`, the door of ``run`` and ``replay``
  alike); this is for the rest: gzip, arrays, log files, several lines, envelopes.
"""

from __future__ import annotations

from typing import Any

STS_SOURCE = "sts.amazonaws.com"
IAM_SOURCE = "iam.amazonaws.com"
ORGANIZATIONS_SOURCE = "organizations.amazonaws.com"
ROLES_ANYWHERE_SOURCE = "rolesanywhere.amazonaws.com"
SSO_SOURCE = "sso.amazonaws.com"
IDENTITY_STORE_SOURCE = "identitystore.amazonaws.com"
EKS_SOURCE = "eks.amazonaws.com"

#: STS calls that hand out (or refuse) a session: normalised to ``RoleEvent``.
ASSUMPTIONS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "AssumeRoot",
        "GetFederationToken",
        "GetSessionToken",
    }
)
#: IAM calls that change a role's existence, trust policy or tags: ``RoleChange``.
ROLE_CHANGES = frozenset(
    {"CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "TagRole", "UntagRole"}
)
#: IAM calls that change which identity providers a trust policy's Federated grants trust.
PROVIDER_CHANGES = frozenset(
    {
        "CreateSAMLProvider",
        "UpdateSAMLProvider",
        "DeleteSAMLProvider",
        "CreateOpenIDConnectProvider",
        "UpdateOpenIDConnectProviderThumbprint",
        "AddClientIDToOpenIDConnectProvider",
        "RemoveClientIDFromOpenIDConnectProvider",
        "DeleteOpenIDConnectProvider",
    }
)
#: Organizations calls that change which accounts are members: ``OrganizationChange``.
ORGANIZATION_CHANGES = frozenset(
    {
        "LeaveOrganization",
        "RemoveAccountFromOrganization",
        "AcceptHandshake",
        "CreateAccountResult",
    }
)

#: Roles Anywhere: a trust anchor is a CA whose certificates may get role sessions; a profile
#: lists the roles they may get. Create, update (a new CA) and enable each widen that.
ROLES_ANYWHERE_CHANGES = frozenset(
    {
        "CreateTrustAnchor",
        "UpdateTrustAnchor",
        "EnableTrustAnchor",
        "CreateProfile",
        "UpdateProfile",
        "EnableProfile",
    }
)
#: Identity Center: permission sets (each a role in every account it is assigned to), their
#: policies and account assignments.
PERMISSION_SET_CHANGES = frozenset(
    {
        "CreatePermissionSet",
        "UpdatePermissionSet",
        "AttachManagedPolicyToPermissionSet",
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        "PutInlinePolicyToPermissionSet",
        "CreateAccountAssignment",
    }
)
#: Identity Center's identity store: the people and groups assignments name.
IDENTITY_STORE_CHANGES = frozenset({"CreateUser", "CreateGroup", "CreateGroupMembership"})
#: EKS Pod Identity: an association hands a role to a (cluster, namespace, service account).
POD_IDENTITY_CHANGES = frozenset({"CreatePodIdentityAssociation", "UpdatePodIdentityAssociation"})

#: eventSource → the eventNames of it that are in scope.
IN_SCOPE: dict[str, frozenset[str]] = {
    STS_SOURCE: ASSUMPTIONS,
    IAM_SOURCE: ROLE_CHANGES | PROVIDER_CHANGES,
    ORGANIZATIONS_SOURCE: ORGANIZATION_CHANGES,
    ROLES_ANYWHERE_SOURCE: ROLES_ANYWHERE_CHANGES,
    SSO_SOURCE: PERMISSION_SET_CHANGES,
    IDENTITY_STORE_SOURCE: IDENTITY_STORE_CHANGES,
    EKS_SOURCE: POD_IDENTITY_CHANGES,
}

#: A record in scope names one of these sources in plain bytes, unless JSON escapes hide it.
_MARKERS = tuple(source.encode() for source in IN_SCOPE)
_ESCAPE = b"\\u"
#: :data:`IN_SCOPE` in bytes, for reading a record's own names without parsing it.
_IN_SCOPE_BYTES = {
    source.encode(): frozenset(name.encode() for name in names)
    for source, names in IN_SCOPE.items()
}
_SOURCE_KEY, _NAME_KEY = b'"eventSource"', b'"eventName"'
#: An array or a log file may hold more than records (what is not one is dead-lettered): its
#: names are not read, only looked for.
_LOG_FILE = b'"Records"'
#: Envelopes whose records are not plain text inside them: CloudWatch Logs' ``awslogs.data``
#: (base64 of gzip) and OCSF (it names its call in ``api``, and may carry CloudTrail's names,
#: not necessarily its own, in ``unmapped``).
_OPAQUE = (b'"awslogs"', b'"class_uid"')
#: JSON's whitespace (``bytes.strip()`` would also take characters JSON rejects).
_JSON_SPACE = b" \t\n\r"


def in_scope(record: dict[str, Any]) -> bool:
    """True when ``record`` is a call of an in-scope source and name."""
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        return False  # hostile input: a list or object where a name belongs
    names = IN_SCOPE.get(source)
    return names is not None and name in names


def may_be_in_scope(payload: bytes) -> bool:
    """False only for a complete-looking JSON text that cannot hold an in-scope record.

    Parsed anyway (True): anything not plain JSON text (gzip, base64, garbage: the decoder
    finds what is inside or dead-letters it); an envelope that carries records out of sight
    (``awslogs``, OCSF); text cut short (not ending like JSON, an odd number of quotes,
    unpaired brackets: the decoder rejects it with a reason); text with ``\\u`` escapes
    (``sts\\u002eamazonaws.com`` is the STS source once parsed); and of course text naming an
    in-scope source, unless it is one record whose own names say it is out of scope (a
    ``GetCallerIdentity`` names the STS source, and is the commonest STS call by far).
    """
    text = payload.strip()
    if text[:1] not in (b"{", b"[") or text[-1:] not in (b"}", b"]"):
        return True
    if b"\\" in text:  # one-byte search first: most records have no `\`
        # ``sts\u002eamazonaws.com`` is the STS source once parsed; ``\"`` spoils quote parity
        # and hides what a string holds: only the sources' names are looked for then
        if _ESCAPE in text or _unbalanced(text) or any(marker in text for marker in _MARKERS):
            return True
        return _opaque(text)
    if text.count(b'"') % 2 == 1 or _unbalanced(text):
        return True
    names = _own_names(text) if text[:1] == b"{" and _LOG_FILE not in text else None
    if names is not None:
        if names[1] in _IN_SCOPE_BYTES.get(names[0], ()):
            return True
    elif any(marker in text for marker in _MARKERS):
        return True
    return _opaque(text)


def _opaque(text: bytes) -> bool:
    """An envelope whose records cannot be seen in its text (see :data:`_OPAQUE`)."""
    return any(marker in text for marker in _OPAQUE)


def _own_names(text: bytes) -> tuple[bytes, bytes] | None:
    """``(eventSource, eventName)`` of a text that holds each key once, with a string value;
    None otherwise (several records, a name that is not a string, or none).

    Sound on one whole JSON object without backslashes: a string cannot hold a quote there,
    so ``"eventSource"`` is a whole string, a key when a colon follows. Held once, it is the
    record's own (an EventBridge event holds it in its ``detail``).
    """
    source = _string_value(text, _SOURCE_KEY)
    name = _string_value(text, _NAME_KEY) if source is not None else None
    return (source, name) if source is not None and name is not None else None


def _string_value(text: bytes, key: bytes) -> bytes | None:
    """The string value of ``key`` when the key occurs exactly once and its value is a short
    string; None otherwise."""
    at = text.find(key)
    if at < 0 or text.find(key, at + len(key)) >= 0:
        return None
    after = text[at + len(key) : at + len(key) + 256].lstrip(_JSON_SPACE)
    if after[:1] != b":":
        return None
    value = after[1:].lstrip(_JSON_SPACE)
    end = value.find(b'"', 1)
    if value[:1] != b'"' or end < 0:
        return None
    return value[1:end]


def _unbalanced(text: bytes) -> bool:
    """True when ``text`` cannot be whole JSON because its brackets do not pair up: cut short
    between values and still ending in one (``[{...}`` of ``[{...}, {...}]``).

    Counting in C, not parsing: under a microsecond against several for a parse. A text cut
    exactly where brackets inside its string values make up for the missing ones passes as
    whole and is counted as skipped (never lost from scope: it names no in-scope source).
    """
    return text.count(b"{") != text.count(b"}") or text.count(b"[") != text.count(b"]")
