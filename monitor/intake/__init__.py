"""Intake: bytes and records become typed events, or are counted as out of scope or rejected.

Owns the envelopes (log files, EventBridge, CloudWatch Logs, OCSF), the scope (what the monitor
reads), reading fields of a raw record, normalising to ``RoleEvent`` / ``RoleChange`` /
``ProviderChange`` / ``OrganizationChange``, the event-time clock and text bounding. May import
only ``monitor.aws``, ``monitor.config`` and the shared ``monitor.findings`` / ``monitor.metrics``.
"""
