"""Helpers shared by the object and text nodes: dotted paths, JavaScript's String(), errors.

The original nodes name their inputs with dotted paths (``"user.profile.name"``), walked the
JavaScript way: a path goes through objects, and through lists by a digit segment
(``"items.0"``), because arrays are objects there. A path that leads nowhere is ``MISSING``,
which is not ``None``: a stored ``null`` is found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..engine import Edge
from ..engine.state import MISSING, copy_json
from .values import normalize_number

__all__ = [
    "MISSING",
    "delete_dotted",
    "error_edge",
    "get_dotted",
    "has_dotted",
    "is_number",
    "js_string",
    "set_dotted",
    "split_path",
    "state_view",
]


def error_edge(message: str, **extra: Any) -> Edge:
    return Edge("error", {"error": message, **extra})


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
    if isinstance(value, Mapping):
        return value.get(segment, MISSING)
    if isinstance(value, list):
        index = _list_index(value, segment)
        return MISSING if index is None else value[index]
    return MISSING


def get_dotted(source: Any, path: str) -> Any:
    """The value at a dotted path, or MISSING."""
    value = source
    for segment in split_path(path):
        value = _step(value, segment)
        if value is MISSING:
            return MISSING
    return value


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


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)``: lists join with commas, objects are [object Object]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(normalize_number(value))
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, Mapping):
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
