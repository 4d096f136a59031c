"""Value keys shared by the data and array nodes (set operations, de-duplication, grouping)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from .common import (
    UNDEFINED,
    Getter,
    error_edge,
    field_getter,
    js_string,
    now_iso,
)
from .values import normalize_number

__all__ = [
    "UNDEFINED",
    "Getter",
    "comparison_key",
    "error",
    "field_getter",
    "js_string",
    "now_iso",
    "tagged_key",
]

error = error_edge


def _json_default(value: Any) -> Any:
    return None if value is UNDEFINED else str(value)


def _json_text(value: Any) -> str:
    """JSON.stringify-like text (whole floats as integers) used as a hashable key."""
    return json.dumps(_whole_floats(value), separators=(",", ":"), default=_json_default)


def _whole_floats(value: Any) -> Any:
    if isinstance(value, float):
        return normalize_number(value)
    if isinstance(value, dict):
        return {k: _whole_floats(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [_whole_floats(v) for v in value]
    return value


def tagged_key(value: Any) -> Hashable:
    """A hashable key equal only for values JSON.stringify would write the same.

    ``1`` and ``1.0`` are one key, ``1`` and ``True`` or ``"1"`` are not; objects and arrays
    compare by content.
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int or cls is float:
        return ("n", value)
    if cls is bool:
        return ("b", value)
    if value is None:
        return ("z",)
    if value is UNDEFINED:
        return ("u",)
    return ("j", _json_text(value))


def comparison_key(value: Any) -> str:
    """The original's key for set operations: JSON for objects, String() for the rest."""
    if isinstance(value, (dict, list)):
        return _json_text(value)
    return js_string(value)
