"""Config: one YAML file, every key optional, environment overrides, one-line errors.

Owns the settings models (``settings``), where each value came from (``sources``) and duration
parsing. Imports nothing else of the monitor: every other folder may import it.
"""
