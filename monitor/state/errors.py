"""The one failure a state backend reports for an unreachable database."""

from __future__ import annotations


class StateUnavailable(Exception):
    """The state database cannot be reached (or refused us): retry later, commit nothing.

    Raised by the shared (PostgreSQL) backend; the checkpoint handles it like a failing sink
    (partitions paused, backoff, nothing committed), and the Kafka service re-reads from the
    batch's first offsets what it processed while the database was away.
    """
