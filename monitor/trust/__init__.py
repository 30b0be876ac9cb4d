"""Trust: what the monitor knows about a role and its caller when an assumption arrives.

Owns trust-policy analysis (model, parsing, matching, condition values, posture weaknesses),
admission (which grant let the caller in), enrichment of a ``RoleEvent`` and the role posture
report. The role catalog it reads lives beside it in ``monitor.inventory``. May import
``monitor.inventory``, ``monitor.state``, ``monitor.intake`` and below; never detection,
delivery or the service.
"""
