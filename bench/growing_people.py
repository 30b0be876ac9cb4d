"""The people of the growing organisation (:mod:`bench.growing`) and what they may assume.

~400 at the default size, through IAM Identity Center: eight developers a team, platform
administrators, data analysts and security; a joiner most weekdays, a leaver every other day,
five people for each account that joins (from the day after it joined).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.growing_org import Org, day_of, sso_role, teams


@dataclass
class Person:
    name: str
    #: (role ARN, weight) of the assignments they use, the first the most.
    assignments: list[tuple[str, float]]
    starts: int = 0
    leaves: int = 10_000


def people(org: Org, rng: random.Random) -> list[Person]:
    """~400 people at the default size: eight developers a team, platform, data, security; a
    joiner most weekdays, a leaver every other day, five people for each account that joins."""
    scale = org.shape.accounts / 120
    admins = max(2, round(30 * scale))
    folks = [Person(f"platform.{n:02d}@acme.example", platform(org, rng)) for n in range(admins)]
    for team in teams(org):
        folks += [Person(f"{team}.{n}@acme.example", developer(org, team)) for n in range(8)]
    logs = sso_role(org.id("log-archive"), "ReadOnlyAccess")
    for n in range(round(34 * scale)):
        folks.append(Person(f"data.{n:02d}@acme.example", [(logs, 1.0), *analyst(org)]))
    audit = sso_role(org.id("audit"), "ReadOnlyAccess")
    for n in range(round(16 * scale)):
        folks.append(Person(f"security.{n:02d}@acme.example", [(audit, 3.0), (logs, 2.0)]))
    for day in range(1, org.shape.days):
        if day_of(day).weekday() < 5:
            team = rng.choice(teams(org))
            folks.append(Person(f"joiner.{day:02d}@acme.example", developer(org, team), day))
        if day % 2 == 0:
            rng.choice(folks[admins:]).leaves = day
    for account in org.accounts:
        if account.joins is not None:
            role = sso_role(account.id, "PowerUserAccess")
            folks += [
                Person(f"{account.team}.{n}@acme.example", [(role, 1.0)], starts=account.joins + 1)
                for n in range(5)
            ]
    return folks


def platform(org: Org, rng: random.Random) -> list[tuple[str, float]]:
    core = [org.id(name) for name in ("management", "cicd", "network", "shared-services")]
    home = rng.sample(core, 2)
    return [
        (sso_role(home[0], "AdministratorAccess"), 5.0),
        (sso_role(home[1], "AdministratorAccess"), 2.0),
        (sso_role(org.id("log-archive"), "ReadOnlyAccess"), 1.0),
    ]


def developer(org: Org, team: str) -> list[tuple[str, float]]:
    grants = {
        "dev": ("PowerUserAccess", 6.0),
        "staging": ("PowerUserAccess", 3.0),
        "prod": ("ReadOnlyAccess", 1.0),
    }
    found = [
        (sso_role(a.id, grants[a.env][0]), grants[a.env][1])
        for a in org.initial()
        if a.team == team
    ]
    return found or [(sso_role(org.id("shared-services"), "ReadOnlyAccess"), 1.0)]


def analyst(org: Org) -> list[tuple[str, float]]:
    data = [a for a in org.initial() if a.team == "analytics"] or org.initial()[-1:]
    return [(sso_role(data[0].id, "DataAnalyst"), 4.0)]
