"""JavaScript's value rules, where existing workflows depend on them.

Workflows were written against a TypeScript engine: ``[]`` is truthy there, ``"3" < 10`` compares
numbers, and ``4 / 2`` is ``2``, not ``2.0``. Nodes use these helpers so that the same workflow
gives the same answer here.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "as_number",
    "js_compare",
    "js_number",
    "js_truthy",
    "loose_equal",
    "normalize_number",
    "strict_equal",
]


def js_truthy(value: Any) -> bool:
    """JavaScript's Boolean(value): only null, false, 0, NaN and "" are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def js_number(value: Any) -> float:
    """JavaScript's Number(value); NaN where it would be NaN."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def as_number(value: Any, where: str) -> int | float:
    """A number, or a ValueError naming the parameter: for nodes that compute."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValueError(f"{where} must be a number, got {value!r}")


def normalize_number(value: int | float) -> int | float:
    """2.0 → 2: JavaScript has one number type, and JSON readers expect integers back."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def strict_equal(a: Any, b: Any) -> bool:
    """``===`` on JSON values; objects and arrays compare by value (deeply), not identity."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def loose_equal(a: Any, b: Any) -> bool:
    """``==``: numbers, numeric strings and booleans compare as numbers; null equals only null."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    scalar = (int, float, str, bool)
    if isinstance(a, scalar) and isinstance(b, scalar):
        return js_number(a) == js_number(b)
    return strict_equal(a, b)


def js_compare(a: Any, b: Any, operator: str) -> bool:
    """JavaScript's ``<``, ``<=``, ``>``, ``>=``: two strings compare as text, else as numbers."""
    if not (isinstance(a, str) and isinstance(b, str)):
        if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
            return False
        a, b = js_number(a), js_number(b)  # NaN compares false either way
    if operator == "<":
        return bool(a < b)
    if operator == "<=":
        return bool(a <= b)
    if operator == ">":
        return bool(a > b)
    if operator == ">=":
        return bool(a >= b)
    raise ValueError(f"unknown comparison {operator!r}")
