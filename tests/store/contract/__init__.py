"""The store contract: one suite, run against every backend (see conftest.py)."""
