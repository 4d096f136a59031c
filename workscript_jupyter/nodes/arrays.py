"""arrayUtilities: chunk, compact, difference, intersection, union, unique, reverse,
shuffle, flatten, first, last, sample."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
