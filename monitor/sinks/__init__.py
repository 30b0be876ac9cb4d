"""Alert sinks: where findings go (JSON lines, Kafka, Alertmanager, SNS, webhooks)."""
