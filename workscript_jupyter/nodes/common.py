"""Helpers every node family shares: the error edge, dotted field paths, JavaScript's String().

The original nodes name their inputs with dotted paths (``"user.profile.name"``), walked the
JavaScript way: through objects, and through lists by a digit segment (``"items.0"``). A path
that leads nowhere is ``MISSING`` (JavaScript's ``undefined``), which is not ``None``: a stored
``null`` is found. Field getters are compiled once per node run and then called once per row, so
they are small closures specialised for the common one-segment path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import Edge
from ..engine.result import iso_time
from ..engine.state import MISSING, copy_json
from .values import normalize_number

__all__ = [
    "MISSING",
    "UNDEFINED",
    "Getter",
    "delete_dotted",
    "error_edge",
    "field_getter",
    "get_dotted",
    "has_dotted",
    "is_number",
    "js_string",
    "js_type",
    "now_iso",
    "set_dotted",
    "split_path",
    "state_view",
]

UNDEFINED: Any = MISSING
"""JavaScript's ``undefined``: the same sentinel as a state path that leads nowhere."""

Getter = Callable[[Any], Any]


def error_edge(message: str, **extra: Any) -> Edge:
    """The error edge with a message that names the parameter at fault."""
    return Edge("error", {"error": message, **extra})


def now_iso() -> str:
    """``new Date().toISOString()``: UTC with milliseconds and a ``Z``."""
    import time

    return iso_time(time.time())


def is_number(value: Any) -> bool:
    """A finite JSON number (booleans are not numbers here, unlike Python)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def split_path(path: str) -> list[str]:
    return path.split(".")


def _list_index(items: list[Any], segment: str) -> int | None:
    """The index a segment names in a list, or None (JavaScript: ``arr["2"]``)."""
    if segment.isdigit() and int(segment) < len(items):
        return int(segment)
    return None


def _step(value: Any, segment: str) -> Any:
    if isinstance(value, Mapping):  # the state itself may come as a read-only mapping
        return value.get(segment, MISSING)
    if isinstance(value, list):
        index = _list_index(value, segment)
        return MISSING if index is None else value[index]
    return MISSING


def field_getter(path: str, *, dot_notation: bool = True) -> Getter:
    """A function reading ``path`` ("a.b.0") from a row; MISSING where it is missing."""
    segments = split_path(path) if dot_notation else [path]
    if len(segments) == 1:
        key = segments[0]

        def get_one(item: Any) -> Any:
            if item.__class__ is dict:
                return item.get(key, MISSING)
            return _step(item, key)

        return get_one

    def get_nested(item: Any) -> Any:
        current = item
        for segment in segments:
            current = _step(current, segment)
            if current is MISSING:
                return MISSING
        return current

    return get_nested


def get_dotted(source: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING."""
    return field_getter(path)(source)


def has_dotted(source: Any, path: str) -> bool:
    return get_dotted(source, path) is not MISSING


def set_dotted(target: dict[str, Any], path: str, value: Any) -> None:
    """Write at a dotted path; anything in the way that is not an object or list becomes {}.

    Raises ValueError when the last step is a list and the segment is not an index of it.
    """
    segments = split_path(path)
    current: Any = target
    for segment in segments[:-1]:
        child = _step(current, segment)
        if not isinstance(child, (dict, list)):
            child = {}
            _assign(current, segment, child, path)
        current = child
    _assign(current, segments[-1], value, path)


def _assign(container: Any, segment: str, value: Any, path: str) -> None:
    if isinstance(container, dict):
        container[segment] = value
        return
    if isinstance(container, list) and segment.isdigit() and int(segment) <= len(container):
        if int(segment) == len(container):
            container.append(value)
        else:
            container[int(segment)] = value
        return
    raise ValueError(f'cannot write "{path}": "{segment}" is not an index of the list there')


def delete_dotted(target: Any, path: str) -> bool:
    """Remove the value at a dotted path; False when there was nothing to remove."""
    *parents, last = split_path(path)
    container = target
    for segment in parents:
        container = _step(container, segment)
        if container is MISSING:
            return False
    if isinstance(container, dict) and last in container:
        del container[last]
        return True
    if isinstance(container, list):
        index = _list_index(container, last)
        if index is not None:
            del container[index]
            return True
    return False


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


def state_view(state: Mapping[str, Any], own_outputs: tuple[str, ...] = ()) -> dict[str, Any]:
    """A deep copy of the state without the engine's ``_`` keys and the node's own outputs.

    Nodes that take "the whole state" as their data would otherwise copy the bookkeeping, and
    nest their previous result inside the next one on every run.
    """
    return {
        key: copy_json(value)
        for key, value in state.items()
        if not key.startswith("_") and key not in own_outputs
    }


def js_type(value: Any) -> str:
    """The type name a user of the original knows: typeof, with array and null told apart."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
