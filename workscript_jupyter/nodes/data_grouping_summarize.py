"""summarize: a pivot table over in.items — rows grouped by fields, each group aggregated
(sum, average, count, countUnique, min, max, concatenate, append) (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .data_common import UNDEFINED, Getter, error, field_getter, js_string, now_iso, tagged_key
from .values import js_number, normalize_number

__all__ = ["SummarizeNode"]


def _items_input(ctx: NodeContext) -> list[Any] | str:
    """in.items as a list (missing is empty), or an error message when it is something else."""
    items = ctx.inputs.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        return f"Input items must be an array, got {type(items).__name__}"
    return items


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
