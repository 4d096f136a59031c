"""The mathOperations node: arithmetic on numbers read from the state by dotted path (§6).

Three modes, as the original: ``single_field`` (sqrt/round/ceil/floor/abs of field1),
``multiple_fields`` (field1 with field2 or a constant value), ``aggregate`` (over fields).
Values are read with JavaScript's ``Number()``; where JavaScript would give NaN or Infinity we
take the error edge instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .common import MISSING, error_edge, get_dotted, is_number, js_string, now_iso
from .values import js_number, normalize_number

__all__ = ["MathOperationsNode"]

_MODES = ("single_field", "multiple_fields", "aggregate")


def _js_round(number: float) -> float:
    """Math.round: halves go up (-2.5 → -2), unlike Python's round to even."""
    return math.floor(number + 0.5)


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise ValueError("Division by zero is not allowed")
    return a / b


def _modulo(a: float, b: float) -> float:
    if b == 0:
        raise ValueError("Modulo by zero is not allowed")
    return math.fmod(a, b)  # JavaScript's % keeps the sign of the dividend


def _power(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except ValueError:
        raise ValueError(f"power: {js_string(a)} ** {js_string(b)} is not a real number") from None


def _add_all(values: list[float]) -> float:
    """Left to right, as JavaScript's reduce (Python 3.12's sum compensates rounding)."""
    return reduce(lambda a, b: a + b, values, 0.0)


def _sqrt(a: float) -> float:
    if a < 0:
        raise ValueError("Cannot calculate square root of negative number")
    return math.sqrt(a)


_UNARY: dict[str, Callable[[float], float]] = {
    "sqrt": _sqrt,
    "round": _js_round,
    "ceil": math.ceil,
    "floor": math.floor,
    "abs": abs,
}
_BINARY: dict[str, Callable[[float, float], float]] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": _divide,
    "power": _power,
    "modulo": _modulo,
}
_AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "sum": _add_all,
    "add": _add_all,
    "average": lambda values: _add_all(values) / len(values),
    "min": min,
    "max": max,
    "multiply": math.prod,
}
_OPERATIONS = tuple(dict.fromkeys([*_BINARY, *_UNARY, *_AGGREGATE]))


def _field_number(state: dict[str, Any], field: str, name: str) -> float:
    value = get_dotted(state, field)
    if value is MISSING or value is None:
        raise ValueError(f'{name}: field "{field}" not found in state or has null value')
    number = js_number(value)
    if math.isnan(number):
        raise ValueError(f'{name}: field "{field}" value is not a valid number: {js_string(value)}')
    return number


def _apply_precision(number: float, precision: int) -> float:
    factor = 10.0**precision
    return _js_round(number * factor) / factor


class MathOperationsNode(Node):
    metadata = NodeMetadata(
        id="mathOperations",
        name="Math Operations",
        category="data",
        description=(
            "Arithmetic on state values named by dotted paths. single_field: sqrt/round/ceil/"
            "floor/abs of field1; multiple_fields: add/subtract/multiply/divide/power/modulo of "
            "field1 and field2 (or value); aggregate: sum/add/average/min/max/multiply over "
            "fields (null or missing fields are skipped). Division or modulo by zero, NaN and "
            "overflow take the error edge."
        ),
        inputs=(
            ParamSpec("operation", "string", "the operation", True, choices=_OPERATIONS),
            ParamSpec(
                "mode", "string", "operand layout", default="multiple_fields", choices=_MODES
            ),
            ParamSpec("field1", "string", "dotted state path of the first operand"),
            ParamSpec("field2", "string", "dotted state path of the second operand"),
            ParamSpec("value", "number", "multiple_fields: constant second operand"),
            ParamSpec("fields", "string[]", "aggregate: dotted state paths"),
            ParamSpec("outputField", "string", "state key for the result", default="result"),
            ParamSpec("precision", "number", "decimal places to round the result to"),
        ),
        outputs=("<outputField>", "mathOperationsResult"),
        edges=("success", "error"),
        example={
            "operation": "multiply",
            "mode": "multiple_fields",
            "field1": "order.quantity",
            "field2": "order.price",
            "outputField": "subtotal",
            "precision": 2,
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        mode = params.get("mode", "multiple_fields")
        output = params.get("outputField", "result")
        problem = _check(operation, mode, output, params.get("precision"))
        if problem:
            return error_edge(problem, nodeId=ctx.node_id)
        assert isinstance(operation, str) and isinstance(output, str)
        try:
            number = self._compute(ctx.state, operation, mode, params)
            if "precision" in params:
                number = _apply_precision(number, params["precision"])
        except (ValueError, OverflowError) as exc:
            message = "result is too large" if isinstance(exc, OverflowError) else str(exc)
            return error_edge(message, nodeId=ctx.node_id, operation=operation, mode=mode)
        if not math.isfinite(number):
            return error_edge(
                f"{operation} gave {js_string(number)}, not a number",
                nodeId=ctx.node_id,
                operation=operation,
                mode=mode,
            )
        result = normalize_number(number)
        ctx.state[output] = result
        ctx.state["mathOperationsResult"] = {
            "operation": operation,
            "mode": mode,
            "result": result,
            "outputField": output,
            "timestamp": now_iso(),
        }
        return Edge(
            "success",
            {"result": result, "outputField": output, "operation": operation, "mode": mode},
        )

    @staticmethod
    def _compute(state: dict[str, Any], operation: str, mode: str, params: dict[str, Any]) -> float:
        if mode == "single_field":
            return _single(state, operation, params.get("field1"))
        if mode == "multiple_fields":
            return _binary(state, operation, params)
        return _aggregate(state, operation, params.get("fields"))


def _check(operation: Any, mode: Any, output: Any, precision: Any) -> str | None:
    if not operation:
        return "Missing operation parameter"
    if operation not in _OPERATIONS:
        return f"Unknown operation: {operation}; expected one of {'|'.join(_OPERATIONS)}"
    if mode not in _MODES:
        return f"Invalid mode: {mode}; expected single_field|multiple_fields|aggregate"
    if not output or not isinstance(output, str):
        return f"Missing outputField parameter (a state key), got {output!r}"
    if precision is not None and not (
        isinstance(precision, int) and not isinstance(precision, bool) and 0 <= precision <= 15
    ):
        return f"precision must be an integer from 0 to 15, got {precision!r}"
    return None


def _single(state: dict[str, Any], operation: str, field1: Any) -> float:
    if not field1 or not isinstance(field1, str):
        raise ValueError("field1 parameter is required for single_field mode")
    unary = _UNARY.get(operation)
    if unary is None:
        raise ValueError(
            f'Operation "{operation}" is not supported in single_field mode. '
            "Use sqrt, round, ceil, floor, or abs."
        )
    return float(unary(_field_number(state, field1, "field1")))


def _binary(state: dict[str, Any], operation: str, params: dict[str, Any]) -> float:
    field1, field2 = params.get("field1"), params.get("field2")
    if not field1 or not isinstance(field1, str):
        raise ValueError("field1 parameter is required for multiple_fields mode")
    binary = _BINARY.get(operation)
    if binary is None:
        raise ValueError(
            f'Operation "{operation}" is not supported in multiple_fields mode. '
            "Use add, subtract, multiply, divide, power, or modulo."
        )
    first = _field_number(state, field1, "field1")
    if field2:
        second = _field_number(state, str(field2), "field2")
    elif "value" in params:
        if not is_number(params["value"]):
            raise ValueError(f"value must be a number, got {params['value']!r}")
        second = float(params["value"])
    else:
        raise ValueError("Either field2 or value parameter is required for multiple_fields mode")
    return binary(first, second)


def _aggregate(state: dict[str, Any], operation: str, fields: Any) -> float:
    if not isinstance(fields, list) or not fields:
        raise ValueError("fields parameter is required for aggregate mode: a non-empty list")
    aggregate = _AGGREGATE.get(operation)
    if aggregate is None:
        raise ValueError(
            f'Operation "{operation}" is not supported in aggregate mode. '
            "Use sum, add, average, min, max, or multiply."
        )
    numbers = []
    for position, field in enumerate(fields):
        value = get_dotted(state, str(field))
        if value is MISSING or value is None:
            continue  # skipped, as the original
        numbers.append(_field_number(state, str(field), f"fields[{position}]"))
    if not numbers:
        raise ValueError("fields: no valid numeric values found in the specified fields")
    return float(aggregate(numbers))
