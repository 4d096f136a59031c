"""fetchApi: HTTP requests through httpx, with a host allow/deny list."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
