"""A bad setting stops the whole server, naming the setting.

A Jupyter server that went on without the extension would look healthy and serve nothing of
it, so every part built from settings at start (secrets, accounts, AI, Google, the role on a
hub) is built through :func:`built_or_stop`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["built_or_stop"]

T = TypeVar("T")


def built_or_stop(log: Any, build: Callable[[], T]) -> T:
    """``build()``; its ``ConfigurationError`` is logged as critical and becomes a SystemExit
    with the same message (the setting's name, never its secret value)."""
    from ..errors import ConfigurationError

    try:
        return build()
    except ConfigurationError as error:
        log.critical("workscript: %s; the server stops", error.message)
        raise SystemExit(f"workscript: {error.message}") from None
