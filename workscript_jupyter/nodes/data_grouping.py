"""aggregate and splitOut: many rows into one, and one row into many (WORKFLOW-LANGUAGE.md §6).

summarize (pivot tables) is in ``data_grouping_summarize``; it is re-exported here, where the
data family (``data.py``) takes its grouping nodes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .data_common import UNDEFINED, error, field_getter
from .data_grouping_summarize import SummarizeNode

__all__ = ["AggregateNode", "SplitOutNode", "SummarizeNode"]


def _items_input(ctx: NodeContext) -> list[Any] | str:
    """in.items as a list (missing is empty), or an error message when it is something else."""
    items = ctx.inputs.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        return f"Input items must be an array, got {type(items).__name__}"
    return items


# -- aggregate -------------------------------------------------------------------------------------


class AggregateNode(Node):
    metadata = NodeMetadata(
        id="aggregate",
        name="Aggregate Node",
        category="data",
        description=(
            "Combines in.items into one object: each listed field collected into an array "
            "(individual_fields), or all rows under outputField (all_data)."
        ),
        inputs=(
            ParamSpec(
                "mode",
                "string",
                "what to collect",
                default="all_data",
                choices=("individual_fields", "all_data"),
            ),
            ParamSpec(
                "fields",
                "object[]",
                "individual_fields: [{inputFieldName (dot path), outputFieldName, mergeLists}] "
                "or plain field names",
            ),
            ParamSpec("outputField", "string", "all_data: the key of the rows", default="data"),
            ParamSpec(
                "keepMissingValues",
                "boolean",
                "null for a missing field, not skipped",
                default=False,
            ),
            ParamSpec(
                "includeBinaries",
                "boolean",
                "keep rows' _binary data (collected in _binaries)",
                default=False,
            ),
        ),
        outputs=("aggregatedData", "itemCount"),
        edges=("success", "empty", "error"),
        example={
            "mode": "individual_fields",
            "fields": [{"inputFieldName": "name", "outputFieldName": "names"}],
            "success?": {"log": {"message": "{{$.aggregatedData.names}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        mode = params.get("mode", "all_data")
        output_field = params.get("outputField", "data")
        if mode not in ("individual_fields", "all_data"):
            return error(f'Invalid mode: {mode!r}. Must be "individual_fields" or "all_data"')
        if not isinstance(output_field, str) or not output_field:
            return error(f"outputField must be a non-empty string, got {output_field!r}")
        items = _items_input(ctx)
        if isinstance(items, str):
            return error(items, nodeId=ctx.node_id)
        include_binaries = bool(params.get("includeBinaries", False))
        if not items:
            empty: dict[str, Any] = {output_field: []} if mode == "all_data" else {}
            ctx.state["aggregatedData"] = empty
            ctx.state["itemCount"] = 0
            return Edge(
                "empty",
                {"aggregatedData": empty, "itemCount": 0, "message": "No items to aggregate"},
            )
        if mode == "all_data":
            result = {output_field: [_without_binary(i, include_binaries) for i in items]}
        else:
            specs = _field_specs(params.get("fields"))
            if isinstance(specs, str):
                return error(specs, nodeId=ctx.node_id)
            result = _collect_fields(items, specs, bool(params.get("keepMissingValues", False)))
            if include_binaries:
                binaries = [i["_binary"] for i in items if isinstance(i, dict) and i.get("_binary")]
                if binaries:
                    result["_binaries"] = binaries
        ctx.state["aggregatedData"] = result
        ctx.state["itemCount"] = len(items)
        return Edge("success", {"aggregatedData": result, "itemCount": len(items), "mode": mode})


def _without_binary(item: Any, include_binaries: bool) -> Any:
    if include_binaries or not isinstance(item, dict) or not item.get("_binary"):
        return item
    return {k: v for k, v in item.items() if k != "_binary"}


def _field_specs(fields: Any) -> list[tuple[str, str, bool]] | str:
    """[(input path, output name, mergeLists)], or an error message naming the entry."""
    if not isinstance(fields, list) or not fields:
        return "fields is required for individual_fields mode: [{inputFieldName, outputFieldName}]"
    specs: list[tuple[str, str, bool]] = []
    for i, field in enumerate(fields):
        if isinstance(field, str):
            field = {"inputFieldName": field}
        name = field.get("inputFieldName") if isinstance(field, dict) else None
        if not isinstance(name, str) or not name:
            return f"fields[{i}].inputFieldName is required"
        output = field.get("outputFieldName") or name
        specs.append((name, str(output), bool(field.get("mergeLists", False))))
    return specs


def _collect_fields(
    items: list[Any], specs: list[tuple[str, str, bool]], keep_missing: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for path, output, merge_lists in specs:
        get = field_getter(path)
        values: list[Any] = []
        for item in items:
            value = get(item)
            if value is UNDEFINED:
                if keep_missing:
                    values.append(None)
            elif merge_lists and isinstance(value, list):
                values.extend(value)
            else:
                values.append(value)
        result[output] = values
    return result


# -- splitOut --------------------------------------------------------------------------------------


class SplitOutNode(Node):
    metadata = NodeMetadata(
        id="splitOut",
        name="Split Out",
        category="data",
        description=(
            "Turns the array at arrayPath (a dot path into the inputs) into one row per element, "
            "under the key `as`, optionally next to the rest of the parent data."
        ),
        inputs=(
            ParamSpec(
                "arrayPath", "string", 'dot path to the array, e.g. "order.items" (not $.)', True
            ),
            ParamSpec(
                "keepParentData",
                "boolean",
                "copy the parent's other top-level fields into each row",
                default=True,
            ),
            ParamSpec("as", "string", "the key of the element in each row", default="item"),
        ),
        outputs=("splitOutResult", "splitOutCount"),
        edges=("success", "empty", "error"),
        example={"arrayPath": "order.lines", "keepParentData": False, "as": "line"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        path = params.get("arrayPath")
        key = params.get("as", "item")
        if not isinstance(path, str) or not path.strip("."):
            return error(
                "Missing or invalid required parameter: arrayPath (a dot path string such as "
                f'"order.items", not a $. reference), got {type(path).__name__}',
                nodeId=ctx.node_id,
            )
        if not isinstance(key, str) or not key:
            return error(f"as must be a non-empty string, got {key!r}")
        segments = [s for s in path.split(".") if s]
        inputs = ctx.inputs
        array = field_getter(".".join(segments))(inputs)
        if array is UNDEFINED:
            message = f"Array path not found: {path} (arrayPath)"
            return error(message, nodeId=ctx.node_id, arrayPath=path)
        if array is None:
            return Edge(
                "empty",
                {"message": f'Array at path "{path}" is null', "arrayPath": path, "count": 0},
            )
        if not isinstance(array, list):
            return error(
                f'Value at path "{path}" (arrayPath) is not an array',
                nodeId=ctx.node_id,
                arrayPath=path,
                actualType=type(array).__name__,
            )
        ctx.state["splitOutResult"] = []
        ctx.state["splitOutCount"] = 0
        if not array:
            return Edge("empty", {"message": "Array is empty", "arrayPath": path, "count": 0})
        if params.get("keepParentData", True):
            parent = _parent_without(inputs, segments)
            rows = [{**parent, key: element} for element in array]
        else:
            rows = [{key: element} for element in array]
        ctx.state["splitOutResult"] = rows
        ctx.state["splitOutCount"] = len(rows)
        return Edge(
            "success",
            {
                "items": rows,
                "count": len(rows),
                "arrayPath": path,
                "message": f'Successfully split {len(rows)} items from array at "{path}"',
            },
        )


def _parent_without(inputs: Mapping[str, Any], segments: list[str]) -> dict[str, Any]:
    """The parent data minus the split array (copying only the objects on its path).

    Engine bookkeeping (``_`` keys) and this node's own earlier results stay out of the rows, so
    splitting twice does not nest the first result into the second.
    """
    parent = {
        k: v
        for k, v in inputs.items()
        if not k.startswith("_") and k not in ("splitOutResult", "splitOutCount")
    }
    holder: dict[str, Any] = parent
    for segment in segments[:-1]:
        child = holder.get(segment)
        if not isinstance(child, dict):
            return parent
        holder[segment] = child = dict(child)
        holder = child
    holder.pop(segments[-1], None)
    return parent
