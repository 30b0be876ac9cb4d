"""Where a call came from, the way on-call reads it: an AWS service, a declared network, other.

The ``networks`` setting declares, per web-identity provider (fnmatch on its name) or per role
account, the CIDRs and VPC endpoints workload credentials are used from. Addresses CloudTrail
writes as a service name (``eks.amazonaws.com``, ``AWS Internal``) are AWS's own.
"""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from monitor.config.settings import NetworkConfig, Settings
from monitor.intake.events import RoleEvent

AWS_SERVICE = "aws_service"
DECLARED = "declared_network"
OTHER = "other"
UNDECLARED = "no_network_declared"

#: Session tags worth showing: Pod Identity's cluster, namespace, service account; Roles
#: Anywhere's certificate subject and issuer. Other tags are the caller's to choose.
_TAG_PREFIXES = ("eks-", "kubernetes-", "x509")


def declared_for(settings: Settings, event: RoleEvent) -> list[NetworkConfig]:
    """The ``networks`` entries that govern ``event``: its provider's, then its account's."""
    names: list[str] = []
    if event.federation is not None and event.federation.provider_name:
        names.append(event.federation.provider_name)
    if event.caller.invoked_by:
        names.append(event.caller.invoked_by)
    found = [
        config
        for glob, config in settings.networks.items()
        if any(fnmatchcase(name, glob) for name in names)
    ]
    if event.role_account and event.role_account in settings.networks:
        found.append(settings.networks[event.role_account])
    return found


def is_aws_address(source_ip: str | None) -> bool:
    """CloudTrail writes a service name, not an address, for calls AWS made itself."""
    if not source_ip:
        return False
    return source_ip == "AWS Internal" or source_ip.endswith(".amazonaws.com")


def network_class(settings: Settings, event: RoleEvent) -> str:
    """``aws_service``, ``declared_network``, ``other``, or ``no_network_declared``."""
    if is_aws_address(event.source_ip):
        return AWS_SERVICE
    if not settings.networks:
        return UNDECLARED  # the default: one check per assumption, not a glob walk
    declared = declared_for(settings, event)
    if not declared:
        return UNDECLARED
    return DECLARED if any(_inside(event, config) for config in declared) else OTHER


def _inside(event: RoleEvent, config: NetworkConfig) -> bool:
    if event.vpc_endpoint_id and event.vpc_endpoint_id in config.vpc_endpoints:
        return True
    address = _address(event.source_ip)
    return address is not None and any(address in _network(cidr) for cidr in config.cidrs)


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value) if value else None
    except ValueError:
        return None  # anonymised or hostile text is no address


@lru_cache(maxsize=1024)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def tags_that_matter(event: RoleEvent) -> dict[str, str]:
    """The session tags that say which workload got the session."""
    return {
        key: value
        for key, value in event.session_tags.items()
        if key.lower().startswith(_TAG_PREFIXES)
    }


def identity_evidence(network: str, event: RoleEvent) -> dict[str, Any]:
    """Network class, the session tags that matter and transitive tag keys, for any finding."""
    evidence: dict[str, Any] = {"network_class": network}
    tags = tags_that_matter(event)
    if tags:
        evidence["session_tags"] = tags
    if event.transitive_tag_keys:
        evidence["transitive_tag_keys"] = list(event.transitive_tag_keys)
    if event.vpc_endpoint_id:
        evidence["vpc_endpoint_id"] = event.vpc_endpoint_id
    return evidence
