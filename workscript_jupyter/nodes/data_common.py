"""Helpers shared by the data and array nodes: field paths, JavaScript's String(), value keys.

Field getters are compiled once per node run and then called once per row, so they are small
closures specialised for the common one-segment path. ``UNDEFINED`` stands for JavaScript's
``undefined`` (a missing field), which several nodes treat differently from ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..engine import Edge
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


class _Undefined:
    """JavaScript's ``undefined``: a field that is not there (distinct from ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

Getter = Callable[[Any], Any]


def error(message: str, **extra: Any) -> Edge:
    """The error edge with a message that names the parameter at fault."""
    return Edge("error", {"error": message, **extra})


def now_iso() -> str:
    """``new Date().toISOString()``: UTC with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _child(value: Any, segment: str) -> Any:
    if isinstance(value, Mapping):  # the state itself comes as a read-only mapping
        return value.get(segment, UNDEFINED)
    if isinstance(value, list) and segment.isdigit():
        index = int(segment)
        return value[index] if index < len(value) else UNDEFINED
    return UNDEFINED


def field_getter(path: str, *, dot_notation: bool = True) -> Getter:
    """A function reading ``path`` ("a.b.0") from a row; UNDEFINED where it is missing.

    As the original: a step through anything but an object or array gives undefined.
    """
    segments = path.split(".") if dot_notation else [path]
    if len(segments) == 1:
        key = segments[0]

        def get_one(item: Any) -> Any:
            if item.__class__ is dict:
                return item.get(key, UNDEFINED)
            return _child(item, key)

        return get_one

    def get_nested(item: Any) -> Any:
        current = item
        for segment in segments:
            current = _child(current, segment)
            if current is UNDEFINED:
                return UNDEFINED
        return current

    return get_nested


def _number_text(value: int | float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        value = normalize_number(value)
    return str(value)


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)``: arrays join with commas, objects are [object Object]."""
    if value.__class__ is str:
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, list):
        return ",".join("" if v is None or v is UNDEFINED else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


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
