"""Pytest plugins shared by the test suite (imported from tests/conftest.py)."""
