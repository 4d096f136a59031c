"""JavaScript's value rules for nodes; they live in the engine, which its expressions share."""

from __future__ import annotations

from ..engine.values import (
    as_number,
    js_compare,
    js_number,
    js_truthy,
    loose_equal,
    normalize_number,
    strict_equal,
)

__all__ = [
    "as_number",
    "js_compare",
    "js_number",
    "js_truthy",
    "loose_equal",
    "normalize_number",
    "strict_equal",
]
