"""filter, sort and limit: choose and order the rows of a list (WORKFLOW-LANGUAGE.md §6).

Rows are never copied: the lists these nodes write hold the same row objects as their input, as
in the original. Conditions and sort keys are compiled once per node run, not once per row.
"""

from __future__ import annotations

import math
import random
from itertools import compress
from operator import not_
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .common import js_type
from .data_common import UNDEFINED, error, field_getter, js_string, now_iso
from .data_conditions import ConditionError, compile_verdicts, uses_patterns
from .patterns import PatternLimitError, off_loop
from .text_regex import PATTERN_RULES
from .values import normalize_number

__all__ = ["FilterNode", "LimitNode", "SortNode"]


class FilterNode(Node):
    metadata = NodeMetadata(
        id="filter",
        name="Filter",
        category="data",
        description=(
            "Splits a list into the rows that match the conditions and the rest. Takes passed "
            "when at least one row matched, filtered when none did (fix: the original never "
            "took filtered). Data types: string, number, boolean, date, array, object."
        ),
        inputs=(
            ParamSpec("items", "array", "the rows to filter", True),
            ParamSpec(
                "conditions",
                "object[]",
                "[{field (dot path), dataType, operation, value, value2}]; string: equals, "
                "notEquals, contains, notContains, startsWith, endsWith, regex (value: "
                f"{PATTERN_RULES}), isEmpty, "
                "isNotEmpty; number: equals, notEquals, gt, gte, lt, lte, between; boolean: "
                "true, false; date: before, after, equals, between; array: contains, "
                "notContains, isEmpty, isNotEmpty; object: isEmpty, isNotEmpty",
                True,
            ),
            ParamSpec(
                "matchMode",
                "string",
                "all conditions must hold, or any one",
                default="all",
                choices=("all", "any"),
            ),
        ),
        outputs=("filterPassed", "filterFiltered", "filterStats"),
        edges=("passed", "filtered", "error"),
        example={
            "items": [{"name": "A", "price": 25}, {"name": "B", "price": 15}],
            "conditions": [
                {"field": "price", "dataType": "number", "operation": "gt", "value": 20}
            ],
            "passed?": {"log": {"message": "{{$.filterStats.passedCount}} rows passed"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        items, conditions = params.get("items"), params.get("conditions")
        match_mode = params.get("matchMode", "all")
        if not isinstance(items, list):
            return error(
                "Missing or invalid items parameter: expected an array of objects, "
                f"got {js_type(items)}",
                nodeId=ctx.node_id,
            )
        if not isinstance(conditions, list) or not conditions:
            return error(
                "Missing or invalid conditions parameter: expected a non-empty array of "
                f"condition objects, got {js_type(conditions)}",
                nodeId=ctx.node_id,
            )
        if match_mode not in ("all", "any"):
            return error(
                f'Invalid matchMode parameter: expected "all" or "any", got {match_mode!r}'
            )

        def split() -> tuple[list[Any], list[Any]]:
            return _split(items, compile_verdicts(conditions, match_mode)(items))

        try:  # user patterns are compiled and matched off the event loop, bounded
            passed, filtered = await off_loop(ctx, split) if uses_patterns(conditions) else split()
        except (ConditionError, PatternLimitError) as exc:
            return error(str(exc), nodeId=ctx.node_id)
        total = len(items)
        counts = {"passedCount": len(passed), "filteredCount": len(filtered), "totalCount": total}
        state = ctx.state
        state["filterPassed"] = passed
        state["filterFiltered"] = filtered
        state["filterStats"] = {
            **counts,
            "passRate": normalize_number(len(passed) / total * 100) if total else 0,
        }
        if passed:
            return Edge("passed", {"items": passed, **counts})
        return Edge("filtered", {"items": filtered, **counts})


def _split(items: list[Any], verdicts: list[Any]) -> tuple[list[Any], list[Any]]:
    """The rows that match, and the rest, picked by ``compress``: no Python loop per row."""
    return list(compress(items, verdicts)), list(compress(items, map(not_, verdicts)))


# -- sort ------------------------------------------------------------------------------------------


def _sort_key(value: Any) -> tuple[Any, ...]:
    """The original's order for one value: numbers, then booleans, then text (case-insensitive).

    null/undefined and NaN go last when ascending; descending reverses the whole order, so they
    come first, exactly as the original's negated comparator did. Rows whose values have
    different types order by type (the original compared such pairs as text, which is not a
    consistent order).
    """
    cls = value.__class__
    if cls is int or cls is float:
        return (0, value) if value == value else (1,)
    if value is None or value is UNDEFINED:
        return (4,)
    if cls is bool:
        return (2, value)
    return (3, js_string(value).lower())


def _plain_numbers(values: list[Any]) -> bool:
    for value in values:
        cls = value.__class__
        if (cls is not int and cls is not float) or value != value:
            return False
    return True


def _column_keys(values: list[Any]) -> list[Any]:
    """Sort keys for one column; a column of plain numbers or of text skips the tuples."""
    if _plain_numbers(values):
        return values
    if all(v.__class__ is str for v in values):
        return [v.lower() for v in values]
    return [_sort_key(v) for v in values]


def sort_rows(rows: list[Any], fields: list[tuple[str, bool]], dot_notation: bool) -> list[Any]:
    """Stable multi-field sort: one stable pass per field, least significant first."""
    result = list(rows)
    for name, descending in reversed(fields):
        get = field_getter(name, dot_notation=dot_notation)
        values = [get(row) if row is not None else UNDEFINED for row in result]
        keys = _column_keys(values)
        order = sorted(range(len(result)), key=keys.__getitem__, reverse=descending)
        result = [result[i] for i in order]
    return result


def _sort_fields(fields: Any) -> list[tuple[str, bool]] | str:
    """[(fieldName, descending)], or the error message naming the bad entry."""
    if not isinstance(fields, list) or not fields:
        return (
            "Missing or invalid fieldsToSortBy parameter for simple sort: "
            "expected [{fieldName, order}]"
        )
    parsed: list[tuple[str, bool]] = []
    for i, field in enumerate(fields):
        name = field.get("fieldName") if isinstance(field, dict) else None
        if not isinstance(name, str) or not name:
            return f"fieldsToSortBy[{i}] must have a valid fieldName"
        order = field.get("order")
        if order not in ("ascending", "descending"):
            return (
                f"fieldsToSortBy[{i}].order: invalid sort order {order!r}, "
                'expected "ascending" or "descending"'
            )
        parsed.append((name, order == "descending"))
    return parsed


class SortNode(Node):
    metadata = NodeMetadata(
        id="sort",
        name="Sort Items",
        category="data",
        description=(
            "Sorts in.items (the items of the edge that led here, or $.items) by one or more "
            "fields, or shuffles them. Stable; text compares case-insensitively; null last."
        ),
        inputs=(
            ParamSpec(
                "type", "string", "sort by fields or shuffle", True, choices=("simple", "random")
            ),
            ParamSpec(
                "fieldsToSortBy",
                "object[]",
                '[{fieldName (dot path), order: "ascending" | "descending"}]; simple only',
            ),
            ParamSpec(
                "disableDotNotation", "boolean", "read fieldName as one plain key", default=False
            ),
        ),
        outputs=("sortedItems",),
        edges=("success", "error"),
        example={
            "type": "simple",
            "fieldsToSortBy": [{"fieldName": "score", "order": "descending"}],
            "success?": {"log": {"message": "{{$.sortedItems}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        sort_type = params.get("type")
        if not sort_type:
            return error('Missing required parameter: type ("simple" or "random")')
        if sort_type not in ("simple", "random"):
            return error(f'Invalid type: {sort_type!r}; use "simple" or "random"')
        items = ctx.inputs.get("items")
        items = [] if items is None else items
        if not isinstance(items, list):
            return error(f"Input items must be an array, got {js_type(items)}")
        if not items:
            ctx.state["sortedItems"] = []
            return Edge("success", {"items": [], "count": 0, "message": "No items to sort"})
        if sort_type == "random":
            ordered = random.sample(items, len(items))
        else:
            fields = _sort_fields(params.get("fieldsToSortBy"))
            if isinstance(fields, str):
                return error(fields, nodeId=ctx.node_id)
            ordered = sort_rows(items, fields, not params.get("disableDotNotation", False))
        ctx.state["sortedItems"] = ordered
        return Edge(
            "success",
            {
                "items": ordered,
                "count": len(ordered),
                "sortType": sort_type,
                "timestamp": now_iso(),
            },
        )


# -- limit -----------------------------------------------------------------------------------------


class LimitNode(Node):
    metadata = NodeMetadata(
        id="limit",
        name="Limit Node",
        category="data",
        description=(
            "Keeps at most maxItems rows from the beginning or the end of a list; takes "
            "all_items when nothing had to be dropped."
        ),
        inputs=(
            ParamSpec("items", "array", "the rows", True),
            ParamSpec("maxItems", "number", "how many rows to keep, > 0", True),
            ParamSpec(
                "keepFrom",
                "string",
                "which end to keep",
                default="beginning",
                choices=("beginning", "end"),
            ),
        ),
        outputs=("limitedItems", "limitCount", "limitOriginalCount"),
        edges=("success", "all_items", "error"),
        example={"items": [1, 2, 3, 4, 5], "maxItems": 3, "keepFrom": "end"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        items, max_items = params.get("items"), params.get("maxItems")
        keep_from = params.get("keepFrom", "beginning")
        if items is None:
            return error("Missing required parameter: items", nodeId=ctx.node_id)
        if not isinstance(max_items, (int, float)) or not _is_number(max_items):
            return error(
                "Missing or invalid required parameter: maxItems (must be a number), "
                f"got {max_items!r}"
            )
        if max_items <= 0:
            return error(f"Invalid maxItems: must be greater than 0, got {max_items!r}")
        if not isinstance(items, list):
            return error(f"Invalid items parameter: must be an array, got {js_type(items)}")
        if keep_from not in ("beginning", "end"):
            return error(
                f'Invalid keepFrom parameter: must be "beginning" or "end", got {keep_from!r}'
            )
        total = len(items)
        if total <= max_items:
            self._publish(ctx, items, total)
            return Edge(
                "all_items",
                {
                    "limitedItems": items,
                    "count": total,
                    "originalCount": total,
                    "message": f"All {total} items kept (fewer than maxItems: {max_items})",
                },
            )
        keep = math.floor(max_items)
        limited = items[:keep] if keep_from == "beginning" else items[total - keep :]
        self._publish(ctx, limited, total)
        return Edge(
            "success",
            {
                "limitedItems": limited,
                "count": len(limited),
                "originalCount": total,
                "keepFrom": keep_from,
                "itemsRemoved": total - len(limited),
            },
        )

    @staticmethod
    def _publish(ctx: NodeContext, limited: list[Any], total: int) -> None:
        ctx.state["limitedItems"] = limited
        ctx.state["limitCount"] = len(limited)
        ctx.state["limitOriginalCount"] = total


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
