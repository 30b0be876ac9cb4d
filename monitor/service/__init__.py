"""Service: the drivers that move messages through the pipeline and make them safe.

Owns the wiring (``app``), the Kafka service with its intake, lag, rebalance handling and
checkpoints, replay's feed, the HTTP endpoints, logging, progress and the closing summary. May
import sinks, sources, detection and everything below them; only commands and the CLI import it.
"""
