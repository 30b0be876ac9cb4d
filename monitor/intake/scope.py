"""THE definition of what the monitor reads: every other module asks here.

In scope are the calls that hand out a session in a role (the STS assumption family) and the
calls that change who may get one: IAM role changes (trust policy, existence, tags), SAML and
OIDC identity-provider changes, Organizations membership changes (an account that leaves
keeps its old trust and is external from then on), and the identity paths beside IAM: Roles
Anywhere trust anchors and profiles, Identity Center permission sets and assignments, identity
store users and groups, and EKS Pod Identity associations.

Two questions, one table:

- :func:`in_scope` decides on a parsed record (used by :mod:`monitor.intake.normalize`);
- :func:`may_be_in_scope` decides on raw bytes before anything is parsed, so the common case
  (a topic full of other services' calls) costs a substring search, not a JSON parse. It is
  conservative: ``False`` only when parsing could not have found an in-scope record *and*
  could not have rejected anything. ``run`` and ``replay`` both call it through
  :meth:`monitor.detect.pipeline.Pipeline.process`, so they decide identically on every input.
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
    finds what is inside or dead-letters it); text cut short (not ending like JSON, an odd
    number of quotes, unpaired brackets: the decoder rejects it with a reason); text with
    ``\\u`` escapes (``sts\\u002eamazonaws.com`` is the STS source once parsed); and of course
    text naming an in-scope source.
    """
    text = payload.strip()
    if text[:1] not in (b"{", b"[") or text[-1:] not in (b"}", b"]"):
        return True
    if any(marker in text for marker in _MARKERS):
        return True
    if b"\\" in text:  # one-byte search first: most records have no `\`
        # ``sts\u002eamazonaws.com`` is the STS source once parsed; ``\"`` spoils quote parity
        return _ESCAPE in text or _unbalanced(text)
    return text.count(b'"') % 2 == 1 or _unbalanced(text)


def _unbalanced(text: bytes) -> bool:
    """True when ``text`` cannot be whole JSON because its brackets do not pair up: cut short
    between values and still ending in one (``[{...}`` of ``[{...}, {...}]``).

    Counting in C, not parsing: under a microsecond against several for a parse. A text cut
    exactly where brackets inside its string values make up for the missing ones passes as
    whole and is counted as skipped (never lost from scope: it names no in-scope source).
    """
    return text.count(b"{") != text.count(b"}") or text.count(b"[") != text.count(b"]")
