"""Principals: who a CloudTrail record says called, and what a policy's principal names.

Why here: CloudTrail's ``userIdentity.type`` values were spelled as string literals in
intake, trust and detectors; a policy principal's kind is read from the same ARN vocabulary
(:mod:`monitor.aws.arns`). Both are AWS's words, not the monitor's.
"""

from __future__ import annotations

from enum import StrEnum


class IdentityType(StrEnum):
    """CloudTrail's ``userIdentity.type`` values the monitor tells apart."""

    ASSUMED_ROLE = "AssumedRole"
    AWS_ACCOUNT = "AWSAccount"
    """The role's account logs another account's caller only by its account id."""
    AWS_SERVICE = "AWSService"
    IAM_USER = "IAMUser"
    SAML_USER = "SAMLUser"
    WEB_IDENTITY_USER = "WebIdentityUser"


class PrincipalKind(StrEnum):
    """What kind of identity a trust grant names; decides how a caller is matched against it."""

    ACCOUNT_ROOT = "account_root"
    ARN = "arn"
    SERVICE = "service"
    SAML_PROVIDER = "saml_provider"
    OIDC_PROVIDER = "oidc_provider"
    PUBLIC = "public"
    CANONICAL_USER = "canonical_user"
    UNIQUE_ID = "unique_id"
    """IAM swaps a deleted user's or role's ARN for its unique id (AROA…/AIDA…): matches no one."""
