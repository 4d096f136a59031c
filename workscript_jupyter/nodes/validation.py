"""validateData: json, type_check, required_fields, range, pattern, json_schema, custom."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
