"""The Kafka key a CloudTrail record is produced under, by ``produce`` and ``forward`` alike.

Why the caller: the burst and many-roles windows are kept per caller, so a group of instances
sees every one of a caller's events only when they all land on one partition (docs/scaling.md).
Both copies of a cross-account call carry the caller's account and principal id, so the pair
still lands on one partition. A record that is not an event in scope keeps its
``sharedEventID`` (else ``eventID``).
"""

from __future__ import annotations

from detectors.identity import principal_key
from monitor.intake.envelopes import Record
from monitor.intake.normalize import RecordRejected, normalize
from monitor.state.keys import bounded


def partition_key(record: Record) -> bytes | None:
    """The caller as the windows key it (``accountId:principalId``, an AWS service as
    ``service:<invokedBy>``), bounded in bytes; else the record's shared or own event id."""
    try:
        event = normalize(record.data, record.envelope)
    except RecordRejected:
        event = None
    if event is not None:
        return bounded(principal_key(event.caller)).encode()
    key = record.data.get("sharedEventID") or record.data.get("eventID")
    return str(key).encode() if isinstance(key, str | int) and key else None
