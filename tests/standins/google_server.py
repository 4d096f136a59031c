"""What the Google stand-ins share: the threaded app (threaded.py) and small helpers for their
handlers."""

from __future__ import annotations

import secrets

from .threaded import ThreadedApp

__all__ = ["ThreadedApp", "new_id"]


def new_id(prefix: str = "") -> str:
    """An opaque random identifier, as Google hands out for codes, tokens and resources."""
    return prefix + secrets.token_urlsafe(16)
