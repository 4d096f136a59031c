"""Core nodes: math, logic, transform, log, empty, end, wait (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

import asyncio
import json
from functools import reduce
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec, RunEnded
from ..engine.state import to_text
from .common import error_edge
from .values import as_number, js_compare, js_truthy, normalize_number, strict_equal

__all__ = ["EmptyNode", "EndNode", "LogNode", "LogicNode", "MathNode", "TransformNode", "WaitNode"]


class MathNode(Node):
    metadata = NodeMetadata(
        id="math",
        name="Math Operations",
        description="Adds, subtracts, multiplies or divides a list of numbers, left to right.",
        inputs=(
            ParamSpec(
                "operation",
                "string",
                "the operation",
                True,
                choices=("add", "subtract", "multiply", "divide"),
            ),
            ParamSpec("values", "number[]", "the operands; $. references allowed", True),
        ),
        outputs=("mathResult",),
        edges=("success", "error"),
        example={"operation": "add", "values": ["$.count", 1], "success?": "log"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation, values = params.get("operation"), params.get("values")
        if not operation or values is None:
            return error_edge("Missing operation or values")
        if not isinstance(values, list):
            return error_edge(f"values must be a list of numbers, got {values!r}")
        numbers: list[int | float] = values
        for value in values:
            kind = value.__class__
            if kind is not int and kind is not float:  # checked one by one, named if wrong
                try:
                    numbers = [as_number(v, f"values[{i}]") for i, v in enumerate(values)]
                except ValueError as exc:
                    return error_edge(str(exc))
                break
        if operation == "add":
            result: int | float = sum(numbers)
        elif operation == "multiply":
            result = reduce(lambda a, b: a * b, numbers, 1.0 if _has_float(numbers) else 1)
        elif operation in ("subtract", "divide"):
            if not numbers:
                return error_edge(f"{operation} needs at least one value")
            if operation == "subtract":
                result = reduce(lambda a, b: a - b, numbers)
            elif any(n == 0 for n in numbers[1:]):
                return error_edge("division by zero")
            else:
                result = reduce(lambda a, b: a / b, numbers)
        else:
            return error_edge(f"Unknown operation: {operation}")
        if result.__class__ is float:  # 4 / 2 is 2, as in JavaScript
            result = normalize_number(result)
        ctx.state["mathResult"] = result
        return Edge("success", {"result": result})


def _has_float(numbers: list[int | float]) -> bool:
    return any(isinstance(n, float) for n in numbers)


class LogicNode(Node):
    metadata = NodeMetadata(
        id="logic",
        name="Logic Operations",
        description="Boolean logic and comparisons; takes the true or false edge.",
        inputs=(
            ParamSpec(
                "operation",
                "string",
                "the operation",
                True,
                choices=("and", "or", "not", "equal", "greater", "less"),
            ),
            ParamSpec("values", "any[]", "operands; equal is strict (===)", True),
        ),
        outputs=("logicResult",),
        edges=("true", "false", "error"),
        example={"operation": "less", "values": ["$.i", 5], "true?": "log", "false?": None},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation, values = params.get("operation"), params.get("values")
        if not operation or values is None:
            return error_edge("Missing operation or values")
        if not isinstance(values, list):
            values = [values]
        pair = len(values) > 1
        if operation == "and":
            result = all(js_truthy(v) for v in values)
        elif operation == "or":
            result = any(js_truthy(v) for v in values)
        elif operation == "not":
            result = not js_truthy(values[0] if values else None)
        elif operation == "equal":
            result = pair and strict_equal(values[0], values[1])
        elif operation == "greater":
            result = pair and js_compare(values[0], values[1], ">")
        elif operation == "less":
            result = pair and js_compare(values[0], values[1], "<")
        else:
            return error_edge(f"Unknown operation: {operation}")
        ctx.state["logicResult"] = result
        return Edge("true" if result else "false", {"result": result})


class TransformNode(Node):
    metadata = NodeMetadata(
        id="transform",
        name="Data Transform",
        description="Converts data: JSON stringify/parse, case, trim, length, reverse.",
        inputs=(
            ParamSpec(
                "operation",
                "string",
                "the transformation",
                True,
                choices=(
                    "stringify",
                    "parse",
                    "uppercase",
                    "lowercase",
                    "trim",
                    "length",
                    "reverse",
                ),
            ),
            ParamSpec("data", "any", "the value to transform", True),
        ),
        outputs=("transformResult",),
        edges=("success", "error"),
        example={"operation": "uppercase", "data": "$.name"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        if not operation or "data" not in params:
            return error_edge("Missing operation or data")
        data = params["data"]
        if operation == "stringify":
            result: Any = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        elif operation == "parse":
            result = json.loads(data) if isinstance(data, str) else data
        elif operation == "uppercase":
            result = to_text(data).upper()
        elif operation == "lowercase":
            result = to_text(data).lower()
        elif operation == "trim":
            result = to_text(data).strip()
        elif operation == "length":
            result = len(data) if isinstance(data, list) else len(to_text(data))
        elif operation == "reverse":
            result = data[::-1] if isinstance(data, list) else to_text(data)[::-1]
        else:
            return error_edge(f"Unknown operation: {operation}")
        ctx.state["transformResult"] = result
        return Edge("success", {"result": result})


class LogNode(Node):
    metadata = NodeMetadata(
        id="log",
        name="Log Node",
        description="Writes a message to the run's log; {{$.path}} templates are filled in.",
        inputs=(ParamSpec("message", "string", "the message"),),
        outputs=("lastLoggedMessage",),
        edges=("success",),
        example={"message": "processed {{$.count}} rows"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        message = params.get("message")
        if message is None:
            ctx.state.pop("lastLoggedMessage", None)
        else:
            ctx.state["lastLoggedMessage"] = message
        ctx.log(message if message.__class__ is str else to_text(message))
        return Edge("success", {"message": message})


class EmptyNode(Node):
    metadata = NodeMetadata(
        id="empty",
        name="Empty Node",
        description="Does nothing; a placeholder step.",
        edges=("nothing",),
        example={},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        return Edge("nothing")


class EndNode(Node):
    metadata = NodeMetadata(
        id="end",
        name="End",
        description="Stops the run at once with status completed or failed.",
        inputs=(
            ParamSpec(
                "status",
                "string",
                "how the run ends",
                default="completed",
                choices=("completed", "failed"),
            ),
            ParamSpec("message", "string", "why; becomes the run's error message when failed"),
        ),
        example={"status": "failed", "message": "no rows to process"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        status = params.get("status", "completed")
        if status not in ("completed", "failed"):
            return error_edge(f'status must be "completed" or "failed", got {status!r}')
        raise RunEnded(status, to_text(params.get("message", "")))


class WaitNode(Node):
    metadata = NodeMetadata(
        id="wait",
        name="Wait",
        description="Pauses the run for a number of seconds without blocking other runs.",
        inputs=(ParamSpec("seconds", "number", "how long to wait", True),),
        edges=("success", "error"),
        example={"seconds": 1.5},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        seconds = params.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            return error_edge(f"seconds must be a number >= 0, got {seconds!r}")
        await asyncio.sleep(seconds)
        return Edge("success", {"waitedSeconds": seconds})
