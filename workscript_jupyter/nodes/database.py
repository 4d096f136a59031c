"""database: insert, find, update, delete, list and bound-parameter query on a named connection."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
