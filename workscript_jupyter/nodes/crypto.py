"""auth: hash, verify, generate_token, sign, verify_signature (constant-time comparisons)."""

from __future__ import annotations

from ..engine import Node

__all__ = ["NODES"]

NODES: tuple[type[Node], ...] = ()
