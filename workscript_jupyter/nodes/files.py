"""filesystem: read, write, exists, delete, mkdir, list, confined to the run's root folder."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
