"""role-usage-monitor: watches AWS STS role assumptions in CloudTrail."""

__version__ = "0.1.0"
