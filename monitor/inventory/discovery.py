"""Organization membership from AWS Organizations ``ListAccounts`` (``organization.discover``).

Why at start-up only: membership changes are rare and every caller-category decision depends on
it, so one consistent list per process beats a list that shifts mid-replay. Suspended accounts
are kept, as in ``accounts_file``: a suspended member is still not an outsider.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import boto3

from monitor.config.settings import ConfigError, OrganizationConfig
from monitor.inventory.aws_sessions import AWS_ERRORS, client_config

log = logging.getLogger(__name__)
_TIMEOUT = timedelta(seconds=10)
_ATTEMPTS = 5


def list_accounts(client: Any, page_size: int | None = None) -> dict[str, str]:
    """Every account of the organization (all pages) as {id: name}."""
    accounts: dict[str, str] = {}
    paging = {"PageSize": page_size} if page_size else {}
    for page in client.get_paginator("list_accounts").paginate(PaginationConfig=paging):
        for item in page.get("Accounts") or []:
            if item.get("Id"):
                accounts[str(item["Id"])] = str(item.get("Name") or "")
    return accounts


def discover_accounts(
    config: OrganizationConfig, *, have_fallback: bool, session: boto3.Session | None = None
) -> dict[str, str]:
    """The organization's accounts, through ``config.endpoint_url`` when set.

    When the call fails and no static list (``accounts``/``accounts_file``) exists, this is a
    configuration error: without membership every cross-account call would look external and
    page someone. With a static list the monitor logs the failure and carries on with it.
    """
    client = (session or boto3.Session()).client(
        "organizations",
        region_name=config.region,
        endpoint_url=config.endpoint_url,
        config=client_config(_TIMEOUT, _ATTEMPTS, 1),
    )
    try:
        return list_accounts(client)
    except AWS_ERRORS as exc:
        if not have_fallback:
            raise ConfigError(f"organization.discover: cannot list accounts: {exc}") from exc
        log.warning("organization discovery failed, using the configured accounts: %s", exc)
        return {}
