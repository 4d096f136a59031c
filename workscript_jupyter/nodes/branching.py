"""switch (rules and expression modes) and calculateField (formulas).

Where the original ran JavaScript (``new Function``), both evaluate the restricted expression
language of ``engine/expressions.py`` instead; nothing reaches ``eval``.
"""

from __future__ import annotations

import math
import re
from collections import ChainMap
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.expressions import Expression, ExpressionError, compile_expression
from ..engine.state import to_text
from .branching_conditions import (
    DATA_TYPES,
    conditions_match,
    nested_value,
    rules_use_patterns,
)
from .patterns import off_loop
from .text_regex import PATTERN_RULES
from .values import js_truthy, normalize_number

__all__ = ["NODES", "CalculateFieldNode", "SwitchNode"]

_SWITCH_KEYS: Final = ("switchResult", "selectedEdge", "matchedRule")


def _error(message: str, ctx: NodeContext, **extra: Any) -> Edge:
    return Edge("error", {"error": message, "nodeId": ctx.node_id, **extra})


def _compile(text: Any, where: str) -> Expression:
    """The expression, or an ExpressionError whose message starts with the parameter's name."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"{where} must be a non-empty expression, got {text!r}")
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        raise ExpressionError(f"{where}: {exc}") from None


class SwitchNode(Node):
    metadata = NodeMetadata(
        id="switch",
        name="Switch Node",
        category="data",
        description=(
            "Routes to the edge named by the first rule whose conditions match (rules mode) or "
            "by the value of an expression (expression mode; the item is `item`, its fields "
            "also by name), else to fallbackOutput. Conditions: {field, dataType "
            "string/number/boolean/date/array/object, operation, value, value2, combineWith "
            f"AND/OR}}; regex patterns: {PATTERN_RULES}."
        ),
        inputs=(
            ParamSpec(
                "mode",
                "string",
                "how the edge is chosen",
                default="rules",
                choices=("rules", "expression"),
            ),
            ParamSpec("rules", "object[]", "rules mode: [{outputKey, conditions[]}], in order"),
            ParamSpec("expression", "string", "expression mode: gives the edge name"),
            ParamSpec("fallbackOutput", "string", "edge when nothing matches", default="default"),
            ParamSpec("item", "any", "what is tested; the node's inputs when absent"),
        ),
        outputs=_SWITCH_KEYS,
        edges=("<outputKey>", "<fallbackOutput>", "error"),
        example={
            "mode": "rules",
            "item": {"customerType": "premium", "orderTotal": 250},
            "rules": [
                {
                    "outputKey": "vip",
                    "conditions": [
                        {"field": "customerType", "operation": "equals", "value": "premium"}
                    ],
                },
                {
                    "outputKey": "high_value",
                    "conditions": [
                        {
                            "field": "orderTotal",
                            "dataType": "number",
                            "operation": "gt",
                            "value": 100,
                        }
                    ],
                },
            ],
            "fallbackOutput": "standard",
            "vip?": {"log": {"message": "VIP order"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        mode = params.get("mode", "rules")
        if mode not in ("rules", "expression"):
            return _error(f'Invalid mode: {mode}. Must be "rules" or "expression"', ctx)
        fallback = params.get("fallbackOutput", "default")
        if not isinstance(fallback, str) or not fallback:
            return _error(f"fallbackOutput must be a non-empty edge name, got {fallback!r}", ctx)
        item = params["item"] if "item" in params else _inputs_snapshot(ctx)
        matched: Mapping[str, Any] | None = None
        try:
            if mode == "rules":
                rules = params.get("rules", [])
                if rules_use_patterns(rules):  # user patterns: off the event loop, bounded
                    matched = await off_loop(ctx, lambda: _first_matching_rule(rules, item))
                else:
                    matched = _first_matching_rule(rules, item)
                selected = to_text(matched["outputKey"]) if matched else ""
            else:
                selected = _expression_edge(params.get("expression"), item)
        except (ExpressionError, ValueError) as exc:
            return _error(str(exc), ctx, mode=mode)
        selected = selected or fallback
        _record(ctx, item, selected, matched)
        data = {
            "item": item,
            "edge": selected,
            "matchedRule": matched["outputKey"] if matched else None,
            "mode": mode,
        }
        return Edge(selected, data)


def _first_matching_rule(rules: Any, item: Any) -> Mapping[str, Any] | None:
    if not isinstance(rules, list):
        raise ValueError(f"rules must be a list of {{outputKey, conditions}}, got {rules!r}")
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            raise ValueError(f"rules[{index}] must be an object, got {rule!r}")
        conditions = rule.get("conditions")
        if conditions is not None and not isinstance(conditions, list):
            raise ValueError(f"rules[{index}].conditions must be a list, got {conditions!r}")
        for position, condition in enumerate(conditions or []):
            _check_condition(condition, f"rules[{index}].conditions[{position}]")
        where = f"rules[{index}].conditions"
        if rule.get("outputKey") and conditions and conditions_match(conditions, item, where):
            return rule
    return None


def _check_condition(condition: Any, where: str) -> None:
    if not isinstance(condition, Mapping):
        raise ValueError(f"{where} must be an object, got {condition!r}")
    data_type = condition.get("dataType") or "string"
    if data_type not in DATA_TYPES:
        raise ValueError(f"{where}.dataType must be one of {', '.join(DATA_TYPES)}")


def _expression_edge(expression: Any, item: Any) -> str:
    """The original called ``new Function('item', 'return ' + expression)``; falsy → fallback."""
    compiled = _compile(expression, "expression")
    try:
        value = compiled.evaluate(_item_variables("item", item))
    except ExpressionError as exc:
        raise ExpressionError(f"expression: {exc}") from None
    return to_text(value) if js_truthy(value) else ""


def _item_variables(name: str, item: Any) -> Mapping[str, Any]:
    """``name`` is the item; a dict item's own fields are visible by name too (``{score}``)."""
    if isinstance(item, Mapping):
        return {**item, name: item}
    return {name: item}


def _inputs_snapshot(ctx: NodeContext) -> dict[str, Any]:
    """The inputs without this node's own keys: stored as switchResult, the state never contains
    itself (the original stored the very object, a cycle) nor grows with every visit."""
    return {k: v for k, v in ctx.inputs.items() if k not in _SWITCH_KEYS}


def _record(ctx: NodeContext, item: Any, selected: str, matched: Mapping[str, Any] | None) -> None:
    ctx.state["switchResult"] = item
    ctx.state["selectedEdge"] = selected
    if matched is not None:
        ctx.state["matchedRule"] = dict(matched)


# ---- calculateField -----------------------------------------------------------------------

ON_ERROR: Final = ("stop", "skip", "use_default")
_FIELD_REF: Final = re.compile(r"\{([^{}]+)\}")


class _CalculationError(Exception):
    """One calculation failed on its data; onError decides what happens."""


class CalculateFieldNode(Node):
    metadata = NodeMetadata(
        id="calculateField",
        name="Calculate Field",
        category="data",
        description=(
            "Computes fields from formulas such as ({revenue} - {costs}) / {revenue} * 100: "
            "{field} reads a number from the state (dotted paths allowed; earlier results "
            "included), with + - * / % ** ( ) and sqrt abs round ceil floor min max pow "
            "(Math. prefix accepted). precision rounds half up, as JavaScript's Math.round."
        ),
        inputs=(
            ParamSpec(
                "calculations", "object[]", "[{outputField, formula, precision}], in order", True
            ),
            ParamSpec(
                "onError", "string", "when a calculation fails", default="stop", choices=ON_ERROR
            ),
            ParamSpec("defaultValue", "any", "onError use_default: the value written instead"),
        ),
        outputs=(
            "<outputField>",
            "calculationResult",
            "calculatedFields",
            "calculationErrors",
        ),
        edges=("success", "error"),
        example={
            "calculations": [
                {"outputField": "profit", "formula": "1200 - 450"},
                {"outputField": "margin", "formula": "{profit} / 1200 * 100", "precision": 2},
            ],
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        calculations = params.get("calculations")
        if not isinstance(calculations, list) or not calculations:
            return _error(
                f"calculations must be a non-empty list of {{outputField, formula}}, "
                f"got {calculations!r}",
                ctx,
            )
        on_error = params.get("onError", "stop")
        if on_error not in ON_ERROR:
            return _error(f"onError must be one of {', '.join(ON_ERROR)}, got {on_error!r}", ctx)
        default = params.get("defaultValue")
        calculated: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        data = ChainMap(calculated, dict(ctx.inputs))
        for index, calculation in enumerate(calculations):
            where = f"calculations[{index}]"
            try:
                output_field, expression, precision = _prepare(calculation, where)
                calculated[output_field] = _calculate(expression, data, precision)
            except ExpressionError as exc:
                return _error(str(exc), ctx)
            except _CalculationError as exc:
                name = _output_name(calculation)
                if on_error == "stop":
                    return _error(f"{where}: {exc}", ctx, formula=_formula_of(calculation))
                if on_error == "use_default" and name:
                    calculated[name] = default
                errors.append({"field": name or "unknown", "error": str(exc)})
        return _finish(ctx, calculated, errors, len(calculations))


def _output_name(calculation: Any) -> str:
    name = calculation.get("outputField") if isinstance(calculation, Mapping) else None
    return name if isinstance(name, str) else ""


def _formula_of(calculation: Any) -> Any:
    return calculation.get("formula") if isinstance(calculation, Mapping) else None


def _prepare(calculation: Any, where: str) -> tuple[str, Expression, int | None]:
    """Check one calculation's settings; a bad formula is an ExpressionError naming it."""
    if not isinstance(calculation, Mapping):
        raise _CalculationError(f"must be an object, got {calculation!r}")
    output_field = calculation.get("outputField")
    if not isinstance(output_field, str) or not output_field:
        raise _CalculationError(f"outputField must be a non-empty string, got {output_field!r}")
    formula = calculation.get("formula")
    if not isinstance(formula, str) or not formula.strip():
        raise _CalculationError(f'Invalid formula for field "{output_field}": {formula!r}')
    precision = calculation.get("precision")
    if precision is not None and (
        isinstance(precision, bool) or not isinstance(precision, int) or precision < 0
    ):
        raise _CalculationError(f"precision must be a non-negative integer, got {precision!r}")
    return output_field, _compile(formula, f"{where}.formula"), precision


def _calculate(expression: Expression, data: Mapping[str, Any], precision: int | None) -> Any:
    for match in _FIELD_REF.finditer(expression.text):
        _check_field(match.group(1).strip(), data)
    try:
        value = expression.evaluate(data)
    except ExpressionError as exc:
        raise _CalculationError(f"Expression evaluation failed: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _CalculationError(f"Expression did not evaluate to a valid number: {value!r}")
    if precision is not None:
        value = math.floor(value * 10**precision + 0.5) / 10**precision
    return normalize_number(value)


def _check_field(name: str, data: Mapping[str, Any]) -> None:
    """As the original: every {field} must exist and be a number."""
    value = data[name] if name in data else nested_value(data, name)
    if value is None and name not in data:
        raise _CalculationError(f'Field "{name}" not found in data')
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _CalculationError(f'Field "{name}" is not a number (value: {to_text(value)})')


def _finish(
    ctx: NodeContext, calculated: dict[str, Any], errors: list[dict[str, str]], total: int
) -> Edge:
    ctx.state.update(calculated)
    ctx.state["calculationResult"] = dict(calculated)
    ctx.state["calculatedFields"] = dict(calculated)
    if errors:
        ctx.state["calculationErrors"] = errors
    else:
        ctx.state.pop("calculationErrors", None)  # not an earlier run's errors
    data: dict[str, Any] = {
        "result": dict(calculated),
        "calculatedFields": dict(calculated),
        "totalCalculations": total,
        "successfulCalculations": len(calculated),
        "failedCalculations": len(errors),
    }
    if errors:
        data["errors"] = errors
    return Edge("success", data)


NODES: tuple[type[Node], ...] = (SwitchNode, CalculateFieldNode)
