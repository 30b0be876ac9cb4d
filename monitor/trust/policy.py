"""Trust-policy analysis behind one import: the model, reading, matching and posture.

The value types live in `trust_model` (which imports none of its siblings); this module only
gathers them with the functions that work on them, so readers need not know the split.
"""

from __future__ import annotations

from monitor.trust.match import CallerFacts, GrantMatch, best_match, match_grants
from monitor.trust.model import (
    ASSUME_ACTIONS,
    Effect,
    GrantScope,
    PrincipalKind,
    PrincipalRef,
    TrustCondition,
    TrustGrant,
    TrustPolicy,
    classify,
    iam_glob_match,
    oidc_claim_key,
    provider_name,
)
from monitor.trust.parse import parse_document


def parse_trust_policy(doc: object) -> TrustPolicy:
    """Read a trust policy (dict, JSON text, or IAM's URL-encoded JSON); never raises."""
    return parse_document(doc)


__all__ = [
    "ASSUME_ACTIONS",
    "CallerFacts",
    "Effect",
    "GrantMatch",
    "GrantScope",
    "PrincipalKind",
    "PrincipalRef",
    "TrustCondition",
    "TrustGrant",
    "TrustPolicy",
    "best_match",
    "classify",
    "iam_glob_match",
    "match_grants",
    "oidc_claim_key",
    "parse_trust_policy",
    "provider_name",
]
