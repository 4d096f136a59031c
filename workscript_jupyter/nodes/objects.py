"""Object nodes: editFields, transformObject, objectUtilities, mathOperations."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
