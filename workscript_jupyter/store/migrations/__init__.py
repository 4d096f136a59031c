"""Alembic scripts of the store: ``env.py``, ``script.py.mako`` and ``versions/`` (see migrate)."""
