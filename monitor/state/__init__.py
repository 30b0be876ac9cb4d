"""State: baselines, windows, seen assumptions and delivered findings, kept across restarts.

Owns the store with its write-back cache (``store``), the SQLite, PostgreSQL and in-memory
backends, opening a configured state with one-line errors, and the one error a backend raises
when its database is away. May import ``monitor.intake``, ``monitor.config`` and the shared
``monitor.findings`` / ``monitor.metrics``; nothing that detects or delivers.
"""
