"""Where messages come from: files and stdin (replay), Kafka (run)."""
