"""Fault tests of issue 17 (a package, so that its conftest does not shadow tests/conftest.py)."""
