"""arrayUtilities: chunk, compact, difference, intersection, union, unique, reverse,
shuffle, flatten, first, last, sample (WORKFLOW-LANGUAGE.md §6).

As in the original, ``field`` (and ``compareArray``) are dot paths, read from ``in.data`` when the
incoming edge carries one, else from the state. Set operations compare objects by their JSON and
everything else by its text, so ``1`` and ``"1"`` are the same element (the original's rule).
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Hashable
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .data_common import UNDEFINED, comparison_key, error, field_getter, now_iso, tagged_key
from .values import js_truthy

__all__ = ["NODES", "ArrayUtilitiesNode"]

_OPERATIONS = (
    "chunk",
    "compact",
    "difference",
    "intersection",
    "union",
    "unique",
    "reverse",
    "shuffle",
    "flatten",
    "first",
    "last",
    "sample",
)
_NEEDS_COMPARE_ARRAY = ("difference", "intersection", "union")


def _unique(values: list[Any], key: Callable[[Any], Hashable] = comparison_key) -> list[Any]:
    seen: set[Hashable] = set()
    out = []
    for value in values:
        k = key(value)
        if k not in seen:
            seen.add(k)
            out.append(value)
    return out


def _unique_by(values: list[Any], path: str) -> list[Any]:
    """Unique by one field's value; rows that are not objects are always kept."""
    get = field_getter(path)
    seen: set[Hashable] = set()
    out = []
    for value in values:
        if isinstance(value, (dict, list)):
            k = tagged_key(get(value))
            if k in seen:
                continue
            seen.add(k)
        out.append(value)
    return out


def _flatten(values: list[Any], depth: int) -> list[Any]:
    if depth <= 0:
        return list(values)
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(_flatten(value, depth - 1))
        else:
            out.append(value)
    return out


def _count(value: Any, name: str) -> int | str:
    """A whole count from a number parameter (truncated, as slice() does), or an error."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        return f"{name} must be a number, got {value!r}"
    return sys.maxsize if value > sys.maxsize else int(value)


def _simple(operation: str, array: list[Any], params: dict[str, Any]) -> list[Any] | str:
    """The operations on one array; an error message for a bad parameter."""
    if operation == "compact":
        return [v for v in array if js_truthy(v)]
    if operation == "unique":
        unique_by = params.get("uniqueBy")
        return _unique_by(array, unique_by) if isinstance(unique_by, str) else _unique(array)
    if operation == "reverse":
        return array[::-1]
    if operation == "shuffle":
        return random.sample(array, len(array))
    if operation == "flatten":
        depth = _count(params.get("depth", math.inf), "depth")
        return depth if isinstance(depth, str) else _flatten(array, depth)
    name = {"chunk": "chunkSize", "sample": "sampleSize"}.get(operation, "count")
    size = _count(params.get(name, 10 if operation == "chunk" else 1), name)
    if isinstance(size, str):
        return size
    if operation == "chunk":
        if size <= 0:
            return "Chunk size must be greater than 0 (chunkSize)"
        return [array[i : i + size] for i in range(0, len(array), size)]
    if size <= 0:
        return []
    if operation == "first":
        return array[:size]
    if operation == "last":
        return array[-size:]
    return random.sample(array, min(size, len(array)))  # sample, without replacement


def _with_other(operation: str, array: list[Any], other: list[Any]) -> list[Any]:
    if operation == "union":
        return _unique([*array, *other])
    other_keys = {comparison_key(v) for v in other}
    keep = operation == "intersection"
    return [v for v in array if (comparison_key(v) in other_keys) is keep]


class ArrayUtilitiesNode(Node):
    metadata = NodeMetadata(
        id="arrayUtilities",
        name="Array Utilities",
        category="data",
        description=(
            "Common operations on the array at `field` (a dot path into in.data or the state); "
            "the result goes to arrayUtilResult[outputField] and the edge's data."
        ),
        inputs=(
            ParamSpec("operation", "string", "what to do", default="unique", choices=_OPERATIONS),
            ParamSpec("field", "string", 'dot path of the array, e.g. "order.tags" (not $.)', True),
            ParamSpec("outputField", "string", "name of the result; default <field>Result"),
            ParamSpec("chunkSize", "integer", "chunk: elements per chunk", default=10),
            ParamSpec(
                "compareArray", "string", "difference/intersection/union: dot path of the other"
            ),
            ParamSpec("uniqueBy", "string", "unique: compare objects by this field only"),
            ParamSpec("depth", "number", "flatten: levels to flatten; default all"),
            ParamSpec("sampleSize", "integer", "sample: how many random elements", default=1),
            ParamSpec("count", "integer", "first/last: how many elements", default=1),
        ),
        outputs=("arrayUtilResult",),
        edges=("success", "empty", "error"),
        example={"operation": "unique", "field": "tags", "outputField": "uniqueTags"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation", "unique")
        field = params.get("field")
        if not isinstance(field, str) or not field:
            return error(
                'Missing required parameter: field (a dot path string such as "tags", '
                f"not a $. reference), got {type(field).__name__}",
                nodeId=ctx.node_id,
            )
        if operation not in _OPERATIONS:
            return error(
                f"Unknown operation: {operation!r}",
                availableOperations=list(_OPERATIONS),
                nodeId=ctx.node_id,
            )
        result_name = params.get("outputField") or f"{field}Result"
        data = ctx.inputs.get("data")
        source = data if js_truthy(data) else ctx.state
        array = field_getter(field)(source)
        if not isinstance(array, list):
            return error(
                f'Field "{field}" (field) is not an array or does not exist',
                nodeId=ctx.node_id,
                fieldType="undefined" if array is UNDEFINED else type(array).__name__,
            )
        if not array:
            ctx.state["arrayUtilResult"] = {
                "operation": operation,
                "field": field,
                "resultField": result_name,
                "inputLength": 0,
                "outputLength": 0,
            }
            return Edge("empty", {field: array, result_name: []})
        result = self._run(operation, array, params, source)
        if isinstance(result, str):
            return error(result, nodeId=ctx.node_id, operation=operation, field=field)
        ctx.state["arrayUtilResult"] = {
            result_name: result,
            "operation": operation,
            "field": field,
            "resultField": result_name,
            "inputLength": len(array),
            "outputLength": len(result),
            "timestamp": now_iso(),
        }
        return Edge(
            "success",
            {
                field: array,
                result_name: result,
                "operation": operation,
                "inputLength": len(array),
                "outputLength": len(result),
            },
        )

    @staticmethod
    def _run(operation: str, array: list[Any], params: dict[str, Any], source: Any) -> Any:
        if operation not in _NEEDS_COMPARE_ARRAY:
            return _simple(operation, array, params)
        path = params.get("compareArray")
        if not isinstance(path, str) or not path:
            return f"compareArray parameter is required for {operation} operation"
        other = field_getter(path)(source)
        if not isinstance(other, list):
            return f'compareArray "{path}" is not an array'
        return _with_other(operation, array, other)


NODES: tuple[type[Node], ...] = (ArrayUtilitiesNode,)
