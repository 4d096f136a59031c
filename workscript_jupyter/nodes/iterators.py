"""Iterator nodes for loops: range, every-array-item, while (WORKFLOW-LANGUAGE.md §4, §6).

Their position lives in ``ctx.memory``, not in the state as in the original: the engine resets it
when the loop is entered again, so a 3-step range inside a 2-step range runs 6 times (fix), and
no ``__range_...`` bookkeeping key is left behind in the user's state.
"""

from __future__ import annotations

import math
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .values import js_number, js_truthy, loose_equal, normalize_number, strict_equal

__all__ = ["EveryArrayItemNode", "RangeNode", "WhileNode"]


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


def _publish_position(
    state: dict[str, Any], keys: tuple[str, str, str], value: Any, index: int, total: int
) -> tuple[bool, bool]:
    """Write an iterator's current value, index, total and first/last flags into the state."""
    value_key, index_key, prefix = keys
    is_first, is_last = index == 0, index == total - 1
    state[value_key] = value
    state[index_key] = index
    state[prefix + "Total"] = total
    state[prefix + "IsFirst"] = is_first
    state[prefix + "IsLast"] = is_last
    return is_first, is_last


def _publish_end(
    state: dict[str, Any], memory: dict[str, Any], keys: tuple[str, str, str], total: int
) -> None:
    """After the last item: no current value, index = total (-1 when empty), memory dropped."""
    value_key, index_key, prefix = keys
    memory.clear()
    state.pop(value_key, None)
    state[index_key] = total if total else -1
    state[prefix + "Total"] = total
    state[prefix + "IsFirst"] = False
    state[prefix + "IsLast"] = total > 0


class RangeNode(Node):
    metadata = NodeMetadata(
        id="range",
        name="Range Iterator",
        category="iterators",
        description=(
            "Counts from start to stop (exclusive) by step. As a loop (range...), takes "
            "current_step once per value, then complete."
        ),
        inputs=(
            ParamSpec("start", "number", "first value", default=0),
            ParamSpec("stop", "number", "end, exclusive", True),
            ParamSpec("step", "number", "increment, not 0", default=1),
            ParamSpec("valueKey", "string", "state key for the value", default="rangeValue"),
            ParamSpec("indexKey", "string", "state key for the index", default="rangeIndex"),
        ),
        outputs=("rangeValue", "rangeIndex", "rangeTotal", "rangeIsFirst", "rangeIsLast"),
        edges=("current_step", "complete", "error"),
        example={"stop": 3, "current_step?": [{"log": {"message": "i = {{$.rangeValue}}"}}]},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        memory = ctx.memory
        value_key = params.get("valueKey", "rangeValue")
        index_key = params.get("indexKey", "rangeIndex")
        if not memory:
            problem = self._check(params)
            if problem:
                return Edge("error", {"error": problem, "nodeId": ctx.node_id})
            start, stop, step = params.get("start", 0), params["stop"], params.get("step", 1)
            away = (step > 0 and start >= stop) or (step < 0 and start <= stop)
            # rounded first: (2.1 - 0) / 0.3 is 7.000000000000001, and 2.1 is not in the range
            total = 0 if away else math.ceil(round(abs((stop - start) / step), 9))
            memory.update(start=start, stop=stop, step=step, index=0, total=total)
        state, index, total = ctx.state, memory["index"], memory["total"]
        keys = (value_key, index_key, "range")
        if index >= total:
            bounds = {k: memory[k] for k in ("start", "stop", "step")}
            _publish_end(state, memory, keys, total)
            return Edge(
                "complete",
                {
                    "message": "All values in range have been processed"
                    if total
                    else "Range is empty, no values to iterate",
                    **bounds,
                    "totalIterations": total,
                    "valuesProcessed": total,
                },
            )
        value = normalize_number(memory["start"] + index * memory["step"])
        is_first, is_last = _publish_position(state, keys, value, index, total)
        memory["index"] = index + 1
        return Edge(
            "current_step",
            {
                "value": value,
                "index": index,
                "totalIterations": total,
                "isFirst": is_first,
                "isLast": is_last,
                "remaining": total - index - 1,
                "start": memory["start"],
                "stop": memory["stop"],
                "step": memory["step"],
            },
        )

    @staticmethod
    def _check(params: dict[str, Any]) -> str | None:
        if params.get("stop") is None:
            return "Missing required parameter: stop"
        for name in ("stop", "start", "step"):
            if name in params and not _is_number(params[name]):
                return f'Parameter "{name}" must be a valid number, got {params[name]!r}'
        if params.get("step", 1) == 0:
            return 'Parameter "step" cannot be zero (would cause infinite loop)'
        return None


class EveryArrayItemNode(Node):
    metadata = NodeMetadata(
        id="every-array-item",
        name="Every Array Item",
        category="iterators",
        description=(
            "Visits each item of a list. As a loop (every-array-item...), takes current-item "
            "once per item, then complete."
        ),
        inputs=(
            ParamSpec("items", "array", "the list to walk", True),
            ParamSpec("itemKey", "string", "state key for the item", default="currentItem"),
            ParamSpec("indexKey", "string", "state key for the index", default="currentIndex"),
        ),
        outputs=(
            "currentItem",
            "currentIndex",
            "everyArrayItemTotal",
            "everyArrayItemIsFirst",
            "everyArrayItemIsLast",
        ),
        edges=("current-item", "complete", "error"),
        example={"items": "$.rows", "current-item?": [{"log": {"message": "{{$.currentItem}}"}}]},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        memory = ctx.memory
        item_key = params.get("itemKey", "currentItem")
        index_key = params.get("indexKey", "currentIndex")
        if not memory:
            items = params.get("items")
            if items is None:
                return Edge(
                    "error", {"error": "Missing required parameter: items", "nodeId": ctx.node_id}
                )
            if not isinstance(items, list):
                return Edge(
                    "error",
                    {
                        "error": 'Parameter "items" must be an array',
                        "nodeId": ctx.node_id,
                        "expected": "array",
                        "received": type(items).__name__,
                    },
                )
            memory.update(items=list(items), index=0)
        state, items, index = ctx.state, memory["items"], memory["index"]
        total = len(items)
        keys = (item_key, index_key, "everyArrayItem")
        if index >= total:
            _publish_end(state, memory, keys, total)
            return Edge(
                "complete",
                {
                    "message": "All items have been processed"
                    if total
                    else "Array is empty, no items to process",
                    "totalItems": total,
                    "itemsProcessed": total,
                },
            )
        item = items[index]
        is_first, is_last = _publish_position(state, keys, item, index, total)
        memory["index"] = index + 1
        return Edge(
            "current-item",
            {
                "item": item,
                "index": index,
                "totalItems": total,
                "isFirst": is_first,
                "isLast": is_last,
                "remaining": total - index - 1,
            },
        )


_NUMERIC = {
    "<": lambda a, b: a < b,
    "less": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "lessOrEqual": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "greater": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "greaterOrEqual": lambda a, b: a >= b,
}


def evaluate_condition(condition: Any) -> bool:
    """A while condition: a boolean, a value (JavaScript truthiness) or {left, operator, right}."""
    if isinstance(condition, bool):
        return condition
    if isinstance(condition, dict) and "operator" in condition:
        left, op, right = condition.get("left"), condition["operator"], condition.get("right")
        if op in ("==", "equals"):
            return loose_equal(left, right)
        if op == "===":
            return strict_equal(left, right)
        if op in ("!=", "notEquals"):
            return not loose_equal(left, right)
        if op == "!==":
            return not strict_equal(left, right)
        if op in _NUMERIC:
            return bool(_NUMERIC[op](js_number(left), js_number(right)))
        raise ValueError(f"unknown operator {op!r} in while condition")
    return js_truthy(condition)


class WhileNode(Node):
    metadata = NodeMetadata(
        id="while",
        name="While Loop",
        category="iterators",
        description=(
            "As a loop (while...), takes do while the condition holds, then done. The condition "
            "is a boolean, a $. reference, or {left, operator, right}."
        ),
        inputs=(
            ParamSpec("condition", "boolean|object", "re-evaluated on every visit", True),
            ParamSpec("maxIterations", "integer", "a guard against endless loops", default=1000),
            ParamSpec(
                "iterationKey", "string", "state key for the count", default="whileIteration"
            ),
        ),
        outputs=("whileIteration", "whileIsFirst"),
        edges=("do", "done", "error"),
        example={
            "condition": {"left": "$.count", "operator": "<", "right": 10},
            "do?": [
                {"math": {"operation": "add", "values": ["$.count", 1]}},
                {"$.count": "$.mathResult"},
            ],
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        memory, state = ctx.memory, ctx.state
        iteration_key = params.get("iterationKey", "whileIteration")
        limit = params.get("maxIterations", 1000)
        if "condition" not in params:
            return Edge(
                "error", {"error": "Missing required parameter: condition", "nodeId": ctx.node_id}
            )
        if not _is_number(limit) or limit <= 0:
            return Edge(
                "error",
                {
                    "error": 'Parameter "maxIterations" must be a positive number',
                    "nodeId": ctx.node_id,
                },
            )
        iteration = memory.get("iteration", 0)
        if iteration >= limit:
            memory.clear()
            state[iteration_key] = iteration
            state["whileIsFirst"] = False
            return Edge(
                "error",
                {
                    "error": f"Maximum iterations ({limit}) exceeded",
                    "nodeId": ctx.node_id,
                    "iterationsExecuted": iteration,
                },
            )
        try:
            holds = evaluate_condition(params["condition"])
        except ValueError:
            memory.clear()
            raise
        if not holds:
            memory.clear()
            state[iteration_key] = iteration
            state["whileIsFirst"] = False
            return Edge(
                "done",
                {
                    "message": "While loop condition is false, exiting loop",
                    "totalIterations": iteration,
                    "nodeId": ctx.node_id,
                },
            )
        state[iteration_key] = iteration
        state["whileIsFirst"] = iteration == 0
        memory["iteration"] = iteration + 1
        return Edge(
            "do",
            {
                "iteration": iteration,
                "isFirst": iteration == 0,
                "conditionWasTrue": True,
                "nodeId": ctx.node_id,
            },
        )
