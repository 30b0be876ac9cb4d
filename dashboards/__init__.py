"""The Grafana dashboards, built with grafana-foundation-sdk; ``generate.py`` writes their JSON."""
