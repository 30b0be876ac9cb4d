"""The normalised event model: one typed event per in-scope record (see ``monitor.intake.scope``).

``RoleEvent`` for an STS role assumption; ``RoleChange``, ``ProviderChange`` and
``OrganizationChange`` for the calls that change who may assume a role. Detectors see only
this model, never raw CloudTrail, so every record variant (old and new ``eventVersion``s, both
copies of a cross-account call, failures without request parameters, bare-issuer web
identities) is dealt with once, in ``monitor.intake.normalize``.

Plain frozen, slotted dataclasses, not validated models (issue 24): every value is already read,
typed, bounded and cleaned by ``monitor.intake.record_fields`` at the edge, where a record that
cannot be read is rejected, so validating each event again cost CPU on every assumption and
could reject nothing. Construct them with keywords only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.aws.arns import role_name
from monitor.aws.principals import IdentityType
from monitor.intake.pickling import by_position

_FEDERATED_USERS = frozenset({IdentityType.SAML_USER, IdentityType.WEB_IDENTITY_USER})


class Copy(StrEnum):
    """Which account's trail logged the record."""

    #: The caller's copy (or the only copy of a same-account call): full caller identity.
    CALLER = "caller"
    #: The role owner's copy of a cross-account call: caller only as ``AWSAccount``.
    OWNER = "owner"


@by_position
@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """Who made the call, as far as the record tells."""

    #: CloudTrail ``userIdentity.type`` (IAMUser, AssumedRole, AWSAccount, AWSService, SAMLUser,
    #: WebIdentityUser, FederatedUser, Root, IdentityCenterUser) or "Unknown".
    identity_type: str = "Unknown"
    arn: str | None = None
    account_id: str | None = None
    principal_id: str | None = None
    user_name: str | None = None
    access_key_id: str | None = None
    #: For role sessions: the role that issued the session.
    session_issuer_arn: str | None = None
    session_issuer_account: str | None = None
    session_issuer_type: str | None = None
    session_created: datetime | None = None
    mfa_authenticated: bool | None = None
    source_identity: str | None = None
    #: The AWS service that made the call on the caller's behalf.
    invoked_by: str | None = None
    identity_provider: str | None = None
    assumed_root: bool = False

    @property
    def is_role_session(self) -> bool:
        """True for a session of an assumed role (also when only the principal id shows it)."""
        if self.identity_type == IdentityType.ASSUMED_ROLE:
            return True
        return bool(self.principal_id and self.principal_id.startswith("AROA"))

    @property
    def identifier(self) -> str:
        """The best single identifier of the caller for a human reading an alert."""
        if self.arn:
            return self.arn
        if self.identity_type == IdentityType.AWS_SERVICE and self.invoked_by:
            return self.invoked_by
        if self.identity_type in _FEDERATED_USERS and self.user_name:
            return f"{self.identity_provider or 'federated'}:{self.user_name}"
        if self.account_id and self.principal_id:
            return f"{self.account_id}:{self.principal_id}"
        return self.principal_id or self.user_name or self.account_id or "unknown"


@by_position
@dataclass(frozen=True, slots=True, kw_only=True)
class Federation:
    """The identity provider side of AssumeRoleWithSAML / AssumeRoleWithWebIdentity."""

    kind: str  # "saml" | "web_identity"
    #: Provider ARN (``...:saml-provider/X``, ``...:oidc-provider/host``) or a bare issuer such
    #: as ``cognito-identity.amazonaws.com``.
    provider: str | None = None
    subject: str | None = None
    subject_type: str | None = None
    audience: str | None = None
    issuer: str | None = None

    @property
    def provider_name(self) -> str | None:
        """What follows ``saml-provider/`` or ``oidc-provider/``, or the bare issuer."""
        if not self.provider:
            return None
        for marker in (":saml-provider/", ":oidc-provider/"):
            if marker in self.provider:
                return self.provider.split(marker, 1)[1]
        return self.provider

    def evidence(self) -> dict[str, str]:
        """The fields that are set, for a finding's evidence."""
        return {f.name: value for f in fields(self) if (value := getattr(self, f.name)) is not None}


@by_position
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleEvent:
    """One STS role-assumption-family call, normalised."""

    event_id: str
    shared_event_id: str | None = None
    request_id: str | None = None
    event_time: datetime
    event_name: str
    event_source: str = "sts.amazonaws.com"
    aws_region: str | None = None
    recipient_account_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    caller: Caller
    copy_kind: Copy = Copy.CALLER
    role_arn: str | None = None
    role_account: str | None = None
    role_session_name: str | None = None
    external_id_present: bool = False
    mfa_serial_present: bool = False
    duration_seconds: int | None = None
    source_identity: str | None = None
    federation: Federation | None = None
    #: ``responseElements.assumedRoleUser`` and the issued temporary key: they let later events
    #: be tied back to this assumption.
    assumed_role_arn: str | None = None
    assumed_role_id: str | None = None
    issued_access_key_id: str | None = None
    credentials_expiration: datetime | None = None
    #: AssumeRoot only.
    target_principal: str | None = None
    task_policy_arn: str | None = None
    #: Envelope the record arrived in (bare, log_file, eventbridge, cloudwatch_logs, ocsf).
    envelope: str = "bare"
    #: Session tags the call set (EKS Pod Identity's cluster, namespace and service account;
    #: Roles Anywhere's certificate subject and issuer), bounded in number and length.
    session_tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    #: ``vpcEndpointId``: the call came through this VPC endpoint.
    vpc_endpoint_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error_code is None

    @property
    def role_name(self) -> str | None:
        return role_name(self.role_arn) if self.role_arn else None

    @property
    def assumption_id(self) -> str:
        """One id for both copies of a cross-account call."""
        return self.shared_event_id or self.event_id

    @property
    def principal_account(self) -> str | None:
        return self.caller.account_id or self.caller.session_issuer_account

    @property
    def is_cross_account(self) -> bool:
        return bool(
            self.role_account
            and self.principal_account
            and self.role_account != self.principal_account
        )


class ChangeKind(StrEnum):
    """The IAM calls that change a role (see :data:`monitor.intake.scope.ROLE_CHANGES`)."""

    CREATE = "CreateRole"
    DELETE = "DeleteRole"
    UPDATE_TRUST = "UpdateAssumeRolePolicy"
    TAG = "TagRole"
    UNTAG = "UntagRole"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeEvent:
    """What every change event shares: when, who, from where."""

    event_id: str
    event_time: datetime
    caller: Caller = Caller()
    source_ip: str | None = None
    user_agent: str | None = None
    aws_region: str | None = None
    envelope: str = "bare"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChange(ChangeEvent):
    """One successful IAM call that changed a role's existence, trust policy or tags.

    Why: the same topic that carries STS calls carries the IAM calls that change who may assume
    a role; applied as they pass, they keep trust metadata current between snapshot exports and
    live refreshes, and a trust policy that suddenly admits outsiders is reported at once.
    Fields CloudTrail left out stay None.
    """

    kind: ChangeKind
    account: str | None = None
    role_name: str | None = None
    role_arn: str | None = None
    path: str | None = None
    #: The new trust policy (CreateRole, UpdateAssumeRolePolicy) when the record carries it.
    trust_policy: dict[str, Any] | None = None
    #: Tags set (CreateRole, TagRole) and tag keys removed (UntagRole).
    tags: dict[str, str] = field(default_factory=dict)
    tag_keys: tuple[str, ...] = ()
    create_date: str | None = None

    @property
    def event_name(self) -> str:
        return self.kind.value

    @property
    def copy_key(self) -> str:
        """The key a second copy of this record is recognised by."""
        return f"iam:{self.event_id}"

    @property
    def target(self) -> tuple[str, str] | None:
        """(account, role name) the change applies to, when the record names both."""
        if not self.account or not self.role_name:
            return None
        return self.account, self.role_name

    @property
    def sets_trust_policy(self) -> bool:
        return self.kind in (ChangeKind.CREATE, ChangeKind.UPDATE_TRUST)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderChange(ChangeEvent):
    """A SAML or OIDC identity provider created, updated or deleted.

    A trust policy's ``Federated`` grant trusts whatever the provider vouches for, so swapping a
    SAML provider's metadata (its signing certificate) or adding an OIDC client id widens who may
    assume every role that trusts it, without touching a single trust policy.
    """

    event_name: str
    #: "saml" or "oidc".
    provider_type: str
    #: "create", "update" or "delete".
    action: str
    account: str | None = None
    provider_arn: str | None = None
    #: What changed, never the documents themselves: client ids, thumbprint count, a digest
    #: of the SAML metadata, the issuer URL.
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def copy_key(self) -> str:
        return f"iam:{self.event_id}"

    @property
    def provider_name(self) -> str | None:
        """What follows ``saml-provider/`` or ``oidc-provider/`` in the provider's ARN."""
        if not self.provider_arn:
            return None
        return self.provider_arn.rsplit("-provider/", 1)[-1]


class MembershipChange(StrEnum):
    LEFT = "left"
    REMOVED = "removed"
    JOINED = "joined"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationChange(ChangeEvent):
    """An account joined, left or was removed from the organization."""

    event_name: str
    kind: MembershipChange
    #: The member account whose membership changed.
    account: str
    #: ``o-…`` when the record names it.
    organization_id: str | None = None

    @property
    def copy_key(self) -> str:
        return f"organizations:{self.event_id}"

    @property
    def departs(self) -> bool:
        return self.kind is not MembershipChange.JOINED


class IdentityService(StrEnum):
    """The services whose configuration decides who gets a session without touching IAM."""

    ROLES_ANYWHERE = "rolesanywhere"
    IDENTITY_CENTER = "sso"
    IDENTITY_STORE = "identitystore"
    POD_IDENTITY = "eks"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityChange(ChangeEvent):
    """A change to an identity path other than a trust policy or an identity provider.

    A Roles Anywhere trust anchor (a CA the account now trusts), an Identity Center permission
    set, its policies and account assignments, an identity-store user or group, or an EKS Pod
    Identity association: each hands out role sessions to whoever the new configuration admits.
    """

    event_name: str
    service: IdentityService
    #: "create", "update", "enable", "delete", "attach" or "assign".
    action: str
    account: str | None = None
    #: The anchor, profile, permission set, association or user the call changed.
    resource: str | None = None
    #: A role the change hands out (a Pod Identity association's role).
    role_arn: str | None = None
    #: What changed, bounded: names, a digest of an uploaded CA, the policy attached, the
    #: principal and account of an assignment, the namespace and service account.
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def copy_key(self) -> str:
        return f"{self.service.value}:{self.event_id}"


#: What normalising a record in scope yields.
Event = RoleEvent | RoleChange | ProviderChange | OrganizationChange | IdentityChange
