"""AWS vocabulary: ARNs, accounts, partitions, role names, principals, policy text, one place.

Owns reading an ARN (account, partition, resource, role name), spelling one, recognising a
principal's unique id, decoding trust-policy text, and the member / vendor / external ladder
of accounts. Pure functions of their arguments; imports nothing of ours, so every layer
(intake, state, trust, detectors, sinks) may use it.
"""
