"""aggregate, splitOut and summarize: many rows into one, one row into many, and pivot tables
(WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .data_common import UNDEFINED, Getter, error, field_getter, js_string, now_iso, tagged_key
from .values import js_number, normalize_number

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


# -- summarize -------------------------------------------------------------------------------------

_AGGREGATIONS = ("append", "average", "concatenate", "count", "countUnique", "max", "min", "sum")


def _numbers(values: list[Any]) -> list[int | float]:
    """Number(v) of each value, NaN dropped (values never hold null here)."""
    out: list[int | float] = []
    for value in values:
        cls = value.__class__
        if cls is int or cls is float:
            if value == value:
                out.append(value)
            continue
        if value is None:
            continue
        number = js_number(value)
        if not math.isnan(number):
            out.append(number)
    return out


def _average(values: list[Any], _separator: str) -> Any:
    numbers = _numbers(values)
    return normalize_number(sum(numbers) / len(numbers)) if numbers else None


def _count_unique(values: list[Any], _separator: str) -> int:
    return len({tagged_key(v) for v in values if v is not None})


_AGGREGATE: dict[str, Callable[[list[Any], str], Any]] = {
    "append": lambda values, _sep: values,
    "average": _average,
    "concatenate": lambda values, sep: sep.join(js_string(v) for v in values if v is not None),
    "count": lambda values, _sep: len(values),
    "countUnique": _count_unique,
    "max": lambda values, _sep: normalize_number(max(n)) if (n := _numbers(values)) else None,
    "min": lambda values, _sep: normalize_number(min(n)) if (n := _numbers(values)) else None,
    "sum": lambda values, _sep: normalize_number(sum(_numbers(values))),
}


class SummarizeNode(Node):
    metadata = NodeMetadata(
        id="summarize",
        name="Summarize (Pivot)",
        category="data",
        description=(
            "Pivot table over in.items: groups rows by fieldsToSplitBy and computes sum, "
            "average, count, countUnique, min, max, concatenate or append per group."
        ),
        inputs=(
            ParamSpec(
                "fieldsToSummarize",
                "object[]",
                "[{fieldToAggregate, aggregation, outputFieldName, separator, "
                "includeEmptyValues}]; aggregation: " + ", ".join(_AGGREGATIONS),
                True,
            ),
            ParamSpec("fieldsToSplitBy", "string[]", "group-by fields (dot paths)", default=[]),
            ParamSpec(
                "outputFormat",
                "string",
                "one row per group, or one object holding the groups",
                default="separate_items",
                choices=("separate_items", "single_item"),
            ),
            ParamSpec("disableDotNotation", "boolean", "read fields as plain keys", default=False),
            ParamSpec(
                "skipMissingFields",
                "boolean",
                "leave out rows whose group-by field is missing or null",
                default=False,
            ),
        ),
        outputs=("summarizeResult", "summarizeGroups", "summarizeMetadata"),
        edges=("success", "error"),
        example={
            "fieldsToSummarize": [
                {"fieldToAggregate": "sales", "aggregation": "sum", "outputFieldName": "total"}
            ],
            "fieldsToSplitBy": ["region"],
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        dot = not params.get("disableDotNotation", False)
        specs = _parse_summaries(params.get("fieldsToSummarize"), dot)
        if isinstance(specs, str):
            return error(specs, nodeId=ctx.node_id)
        split_by = params.get("fieldsToSplitBy", [])
        if not isinstance(split_by, list) or not all(isinstance(f, str) and f for f in split_by):
            return error(f"fieldsToSplitBy must be a list of field names, got {split_by!r}")
        output_format = params.get("outputFormat", "separate_items")
        if output_format not in ("separate_items", "single_item"):
            return error(
                f'outputFormat must be "separate_items" or "single_item", got {output_format!r}'
            )
        items = _items_input(ctx)
        if isinstance(items, str):
            return error(items, nodeId=ctx.node_id)
        if not items:
            data: Any = {} if output_format == "single_item" else []
            groups: list[str] = []
        else:
            data, groups = _summarize(
                items, specs, split_by, output_format, dot, bool(params.get("skipMissingFields"))
            )
        self._publish(ctx, data, groups, len(items), specs, split_by)
        return Edge(
            "success",
            {"result": data, "groups": groups, "itemCount": len(items), "groupCount": len(groups)},
        )

    @staticmethod
    def _publish(
        ctx: NodeContext,
        data: Any,
        groups: list[str],
        count: int,
        specs: list[_Summary],
        split_by: list[str],
    ) -> None:
        ctx.state["summarizeResult"] = data
        ctx.state["summarizeGroups"] = groups
        metadata: dict[str, Any] = {
            "itemCount": count,
            "groupCount": len(groups),
            "timestamp": now_iso(),
        }
        if count:
            metadata["fieldsAggregated"] = [spec.source for spec in specs]
            metadata["groupedBy"] = split_by
        ctx.state["summarizeMetadata"] = metadata


class _Summary:
    """One entry of fieldsToSummarize, compiled."""

    __slots__ = ("aggregate", "get", "include_empty", "output", "separator", "source")

    def __init__(self, entry: Mapping[str, Any], dot: bool) -> None:
        self.source: str = entry["fieldToAggregate"]
        self.get = field_getter(self.source, dot_notation=dot)
        self.aggregate = _AGGREGATE[entry["aggregation"]]
        self.output: str = entry["outputFieldName"]
        self.separator = str(entry.get("separator", ", "))
        self.include_empty = bool(entry.get("includeEmptyValues", False))

    def over(self, rows: list[Any]) -> Any:
        get = self.get
        values = [get(row) for row in rows]
        if self.include_empty:
            values = [None if v is UNDEFINED else v for v in values]
        else:
            values = [v for v in values if v is not None and v is not UNDEFINED]
        return self.aggregate(values, self.separator)


def _parse_summaries(fields: Any, dot: bool) -> list[_Summary] | str:
    if not isinstance(fields, list) or not fields:
        return (
            "Missing or invalid fieldsToSummarize parameter: expected "
            "[{fieldToAggregate, aggregation, outputFieldName}]"
        )
    specs: list[_Summary] = []
    for i, entry in enumerate(fields):
        where = f"fieldsToSummarize[{i}]"
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry.get(k)
            for k in ("fieldToAggregate", "aggregation", "outputFieldName")
        ):
            return f"{where}: fieldToAggregate, aggregation and outputFieldName are required"
        if entry["aggregation"] not in _AGGREGATE:
            return (
                f"{where}.aggregation: invalid aggregation type {entry['aggregation']!r}; "
                f"expected one of {', '.join(_AGGREGATIONS)}"
            )
        specs.append(_Summary(entry, dot))
    return specs


def _group_text(value: Any) -> str:
    return "__null__" if value is None or value is UNDEFINED else js_string(value)


def _summarize(
    items: list[Any],
    specs: list[_Summary],
    split_by: list[str],
    output_format: str,
    dot: bool,
    skip_missing: bool,
) -> tuple[Any, list[str]]:
    if not split_by:
        row = _aggregate_group(items, specs)
        return (row if output_format == "single_item" else [row]), ["all"]
    groups = _group_rows(items, [field_getter(f, dot_notation=dot) for f in split_by], skip_missing)
    results = []
    for group_values, rows in groups.values():
        row = _aggregate_group(rows, specs)
        row.update(zip(split_by, group_values, strict=True))
        results.append(row)
    keys = list(groups)
    if output_format == "single_item":
        return {"groups": results, "groupCount": len(results), "totalItems": len(items)}, keys
    return results, keys


def _group_rows(
    items: list[Any], getters: list[Getter], skip_missing: bool
) -> dict[str, tuple[list[Any], list[Any]]]:
    """Rows by group key ("a::b", as the original), each with its group-by values."""
    groups: dict[str, tuple[list[Any], list[Any]]] = {}
    single = getters[0] if len(getters) == 1 else None
    for item in items:
        if single is not None:
            value = single(item)
            values = [value]
            missing = value is None or value is UNDEFINED
            key = value if value.__class__ is str else _group_text(value)
        else:
            values = [get(item) for get in getters]
            missing = any(v is None or v is UNDEFINED for v in values)
            key = "::".join(_group_text(v) for v in values)
        if missing and skip_missing:
            continue
        group = groups.get(key)
        if group is None:
            groups[key] = group = ([None if v is UNDEFINED else v for v in values], [])
        group[1].append(item)
    return groups


def _aggregate_group(rows: list[Any], specs: list[_Summary]) -> dict[str, Any]:
    result = {spec.output: spec.over(rows) for spec in specs}
    result["_itemCount"] = len(rows)
    return result
