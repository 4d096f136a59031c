"""The objectUtilities node: keys, merging, cloning and nested paths of a state object (§6).

``field`` and ``mergeWith`` are dotted paths into the state (as in the original, not in.X).
Lists count as objects, as arrays do in JavaScript: their keys are "0", "1", ...
"""

from __future__ import annotations

import copy
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.state import copy_json
from .common import (
    MISSING,
    delete_dotted,
    error_edge,
    get_dotted,
    has_dotted,
    set_dotted,
)

__all__ = ["ObjectUtilitiesNode"]

_OPERATIONS = (
    "keys",
    "values",
    "entries",
    "has_field",
    "is_empty",
    "merge",
    "deep_merge",
    "clone",
    "deep_clone",
    "get_nested",
    "set_nested",
    "delete_nested",
)
_NEEDS_PATH = ("has_field", "get_nested", "set_nested", "delete_nested")


def _as_record(value: Any) -> dict[str, Any]:
    """An object's own properties: a list's are its indexes (``{...[a, b]}`` in JavaScript)."""
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    return value if isinstance(value, dict) else {}


def _merge(target: Any, source: Any, overwrite: bool, deep: bool) -> Any:
    if not isinstance(target, (dict, list)):
        return source
    if not isinstance(source, (dict, list)):
        return target
    out = dict(_as_record(target))
    for key, value in _as_record(source).items():
        if key in out and not overwrite:
            continue
        if deep and isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value, overwrite, deep)
        else:
            out[key] = value
    return out


def _clone(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    return dict(value) if isinstance(value, dict) else value


def _set_nested(obj: Any, path: str, value: Any) -> Any:
    if not isinstance(obj, (dict, list)):
        return obj
    result = copy_json(obj)
    if isinstance(result, list):
        raise ValueError("set_nested needs an object in field, not a list")
    set_dotted(result, path, value)
    return result


def _delete_nested(obj: Any, path: str) -> Any:
    result = copy_json(obj)
    delete_dotted(result, path)
    return result


class ObjectUtilitiesNode(Node):
    metadata = NodeMetadata(
        id="objectUtilities",
        name="Object Utilities",
        category="data",
        description=(
            "Common object operations on the state value at field (a dotted path): keys, "
            "values, entries, has_field, is_empty, merge/deep_merge with the state value at "
            "mergeWith, clone/deep_clone, and get/set/delete at a nested path. has_field false "
            "and get_nested of a missing path take not_found."
        ),
        inputs=(
            ParamSpec("operation", "string", "the operation", True, choices=_OPERATIONS),
            ParamSpec("field", "string", "dotted path of the object in the state", True),
            ParamSpec(
                "outputField",
                "string",
                "dotted state path for the result (default <field>_<operation>)",
            ),
            ParamSpec("path", "string", "has_field/get_nested/set_nested/delete_nested: path"),
            ParamSpec("value", "any", "set_nested: the value to set"),
            ParamSpec("mergeWith", "string", "merge/deep_merge: dotted state path of the source"),
            ParamSpec("overwrite", "boolean", "merge: source values win", default=True),
        ),
        outputs=("<outputField>", "objectUtilResult"),
        edges=("success", "not_found", "error"),
        example={"operation": "keys", "field": "user", "outputField": "userKeys"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation, field = params.get("operation"), params.get("field")
        if not operation:
            return error_edge("Missing required parameter: operation")
        if not field or not isinstance(field, str):
            return error_edge(f"Missing required parameter: field (a dotted path), got {field!r}")
        if operation not in _OPERATIONS:
            return error_edge(f"Unknown operation: {operation}")
        obj = get_dotted(ctx.state, field)
        if obj is MISSING:
            return error_edge(f"Field not found: {field}", field=field)
        problem = _check(operation, params, ctx.state)
        if problem:
            return error_edge(problem, operation=operation, field=field)
        output = params.get("outputField") or f"{field}_{operation}"
        if not isinstance(output, str):
            return error_edge(f"outputField must be a dotted path, got {output!r}")
        try:
            result = self._run(operation, obj, params, ctx.state)
            self._store(ctx.state, output, result)
        except ValueError as exc:
            return error_edge(str(exc), operation=operation, field=field)
        found = result is not MISSING and (operation != "has_field" or result is True)
        data = {"operation": operation, "field": field, "outputField": output}
        if result is not MISSING:
            data = {"result": result, **data}
        return Edge("success" if found else "not_found", data)

    @staticmethod
    def _store(state: dict[str, Any], output: str, result: Any) -> None:
        """Write the result; a missing result (get_nested) clears both keys, as undefined."""
        if result is MISSING:
            delete_dotted(state, output)
            state.pop("objectUtilResult", None)
            return
        set_dotted(state, output, result)
        state["objectUtilResult"] = result

    @staticmethod
    def _run(operation: str, obj: Any, params: dict[str, Any], state: dict[str, Any]) -> Any:
        path = params.get("path", "")
        if operation == "keys":
            return list(_as_record(obj))
        if operation == "values":
            return list(_as_record(obj).values())
        if operation == "entries":
            return [[key, value] for key, value in _as_record(obj).items()]
        if operation == "has_field":
            return isinstance(obj, (dict, list)) and has_dotted(obj, path)
        if operation == "is_empty":
            return not _as_record(obj)
        if operation in ("merge", "deep_merge"):
            source = get_dotted(state, params["mergeWith"])
            overwrite = params.get("overwrite", True) is not False
            return _merge(obj, source, overwrite, deep=operation == "deep_merge")
        if operation == "clone":
            return _clone(obj)
        if operation == "deep_clone":
            return copy.deepcopy(obj)
        if operation == "get_nested":
            return get_dotted(obj, path) if isinstance(obj, (dict, list)) else MISSING
        if operation == "set_nested":
            return _set_nested(obj, path, params["value"])
        return _delete_nested(obj, path)


def _check(operation: str, params: dict[str, Any], state: dict[str, Any]) -> str | None:
    """The operation's own required parameters, named in the message."""
    if operation in _NEEDS_PATH:
        path = params.get("path")
        if not path or not isinstance(path, str):
            return f"Missing required parameter: path for {operation} operation"
    if operation == "set_nested" and "value" not in params:
        return "Missing required parameter: value for set_nested operation"
    if operation in ("merge", "deep_merge"):
        source = params.get("mergeWith")
        if not source or not isinstance(source, str):
            return f"Missing required parameter: mergeWith for {operation} operation"
        if get_dotted(state, source) is MISSING:
            return f"Merge source field not found (mergeWith): {source}"
    return None
