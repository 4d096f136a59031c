"""switch (rules and expression modes) and calculateField (formulas)."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
