"""The ladder of accounts: how far a caller's account is from the account it reaches into.

Why one ladder: a caller's category (findings, metrics) and a trust grant's scope (posture)
place an account on the same rungs; they used to be written twice with two names for the
vendor rung. Membership of the organisation wins over the vendor list (an account in both is
ours).
"""

from __future__ import annotations

from collections.abc import Container
from enum import StrEnum


class Rung(StrEnum):
    """One rung of the ladder; the values are the caller categories findings carry."""

    SAME_ACCOUNT = "same_account"
    ORGANIZATION = "organization"
    VENDOR = "vendor"
    EXTERNAL = "external"


def rung(source: str, target: str | None, members: Container[str], vendors: Container[str]) -> Rung:
    """Where ``source`` stands seen from ``target``: same account, member, vendor, external."""
    if source == target:
        return Rung.SAME_ACCOUNT
    if source in members:
        return Rung.ORGANIZATION
    if source in vendors:
        return Rung.VENDOR
    return Rung.EXTERNAL
