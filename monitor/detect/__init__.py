"""Detect: an enriched event through every detector, then suppression and merging.

Owns the pipeline (decode → normalize → enrich → detect → suppress), change events applied to
the catalog and membership, record outcomes, suppression rules and the ``tune`` grouping. The
detectors themselves live in the top-level ``detectors`` package (users add their own there).
May import ``detectors``, ``monitor.trust`` and below; never sinks, sources or the service.
"""
