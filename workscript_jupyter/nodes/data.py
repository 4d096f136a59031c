"""Data nodes over lists of items: filter, sort, aggregate, splitOut, limit, removeDuplicates,
summarize, compareDatasets."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
