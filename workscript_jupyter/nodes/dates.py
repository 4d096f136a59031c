"""dateTime: every operation of the original, time zones through zoneinfo."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
