"""Network class of a call: AWS's own, inside the declared networks, outside, or undeclared."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.config.settings import Settings
from monitor.intake.events import Caller, Federation, RoleEvent
from monitor.trust.network import identity_evidence, network_class, tags_that_matter

EKS = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
NETWORKS = {
    "oidc.eks.*": {"cidrs": ["10.0.0.0/8", "2001:db8::/32"], "vpc_endpoints": ["vpce-0abc"]},
    "333333333333": {"cidrs": ["192.0.2.0/24"]},
}


def event(**fields: Any) -> RoleEvent:
    base: dict[str, Any] = {
        "event_id": "e1",
        "event_time": datetime(2026, 3, 2, tzinfo=UTC),
        "event_name": "AssumeRoleWithWebIdentity",
        "caller": Caller(identity_type="WebIdentityUser"),
        "role_arn": "arn:aws:iam::222222222222:role/r",
        "role_account": "222222222222",
        "federation": Federation(kind="web_identity", provider=EKS, subject="system:sa"),
    }
    return RoleEvent(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"source_ip": "10.1.2.3"}, "declared_network"),
        ({"source_ip": "2001:db8::1"}, "declared_network"),
        ({"source_ip": "198.51.100.7", "vpc_endpoint_id": "vpce-0abc"}, "declared_network"),
        ({"source_ip": "198.51.100.7"}, "other"),
        ({"source_ip": "not-an-address"}, "other"),
        ({"source_ip": None}, "other"),
        ({"source_ip": "eks.amazonaws.com"}, "aws_service"),
        ({"source_ip": "AWS Internal"}, "aws_service"),
        # no provider entry, but the role's account has one
        (
            {"source_ip": "192.0.2.9", "federation": None, "role_account": "333333333333"},
            "declared_network",
        ),
        ({"source_ip": "10.1.2.3", "federation": None}, "no_network_declared"),
    ],
)
def test_network_class(fields: dict[str, Any], expected: str) -> None:
    settings = Settings(networks=NETWORKS)
    assert network_class(settings, event(**fields)) == expected


def test_without_networks_nothing_is_outside() -> None:
    assert network_class(Settings(), event(source_ip="198.51.100.7")) == "no_network_declared"


def test_only_the_tags_that_name_a_workload_or_certificate_are_evidence() -> None:
    tagged = event(
        session_tags={
            "kubernetes-namespace": "payments",
            "eks-cluster-name": "prod",
            "x509Issuer/CN": "Corp CA",
            "team": "caller-chosen",
        },
        transitive_tag_keys=("kubernetes-namespace",),
    )
    assert tags_that_matter(tagged) == {
        "kubernetes-namespace": "payments",
        "eks-cluster-name": "prod",
        "x509Issuer/CN": "Corp CA",
    }
    evidence = identity_evidence("other", tagged)
    assert evidence["network_class"] == "other"
    assert evidence["transitive_tag_keys"] == ["kubernetes-namespace"]
