"""validateData: json, type_check, required_fields, range, pattern, json_schema, custom.

Differences from the original, each deliberate:

- ``json_schema`` is real JSON Schema (``jsonschema``; Draft 2020-12 unless the schema's
  ``$schema`` names another draft); each error carries the JSON pointer of the offending value.
  The original only compared ``typeof`` at the top level. A missing or invalid schema is the
  ``error`` edge.
- ``custom`` evaluates the restricted expression language with the data as ``data`` (its fields
  also by name), not a JavaScript function body: ``data.age >= 18``. A leading ``return`` and a
  trailing ``;`` are tolerated so simple validators keep working.
- ``pattern`` rules and the schema's ``pattern``/``patternProperties`` are JavaScript patterns on
  the bounded matcher (``patterns.py``), matched off the event loop; the original's ``new RegExp``
  had no limit either, but it did not share its thread with a server.
- ``validationErrors`` is written on every run (``[]`` when valid), so an earlier run's errors
  never linger.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.expressions import ExpressionError, compile_expression
from ..engine.state import to_text
from .common import MISSING, js_type
from .patterns import PatternLimitError, off_loop
from .text_regex import PATTERN_RULES, PatternSyntaxError, compile_user_regex
from .validation_schema import BadSchema, schema_problems, schema_uses_patterns
from .values import js_truthy

__all__ = ["NODES", "ValidateDataNode"]

TYPES: Final = (
    "json",
    "type_check",
    "required_fields",
    "range",
    "pattern",
    "json_schema",
    "custom",
)

Problems = list[dict[str, Any]]


class _BadConfig(Exception):
    """A parameter is missing or malformed: the error edge."""


class ValidateDataNode(Node):
    metadata = NodeMetadata(
        id="validateData",
        name="Validate Data",
        category="data",
        description=(
            "Validates data (the `data` parameter, else in.data) and takes valid or invalid: "
            "JSON text, field types, required fields, numeric ranges, regex patterns, a JSON "
            "Schema (Draft 2020-12 by default; errors carry JSON pointers) or a custom "
            "expression over `data` (true = valid). Patterns (patternValidations and the "
            f"schema's pattern/patternProperties): {PATTERN_RULES}."
        ),
        inputs=(
            ParamSpec(
                "validationType", "string", "the check", default="required_fields", choices=TYPES
            ),
            ParamSpec("data", "any", "what to validate; in.data when absent"),
            ParamSpec("schema", "object", "json_schema: the JSON Schema"),
            ParamSpec("typeChecks", "object[]", "type_check: [{field, expectedType}]"),
            ParamSpec("requiredFields", "string[]", "required_fields: dotted paths"),
            ParamSpec("rangeValidations", "object[]", "range: [{field, min, max}]"),
            ParamSpec(
                "patternValidations", "object[]", "pattern: [{field, pattern, errorMessage}]"
            ),
            ParamSpec("customValidator", "string", "custom: an expression over data"),
            ParamSpec("outputErrors", "boolean", "put errors on the invalid edge", default=True),
            ParamSpec("stopOnError", "boolean", "accepted for compatibility; unused", default=True),
        ),
        outputs=("validationResult", "validationErrors", "parsedJson"),
        edges=("valid", "invalid", "error"),
        example={
            "validationType": "json_schema",
            "data": {"name": "Ada", "age": 36},
            "schema": {
                "type": "object",
                "required": ["name", "email"],
                "properties": {"age": {"type": "integer", "minimum": 0}},
            },
            "invalid?": {"log": {"message": "invalid: {{$.validationErrors}}"}},
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        validation_type = params.get("validationType", "required_fields")
        data = params["data"] if "data" in params else ctx.inputs.get("data", MISSING)
        try:
            problem = _check_data(validation_type, data)
            if problem:
                return _error(ctx, problem, validation_type)
            if validation_type == "json":
                return _json(ctx, params, data)
            validate = _VALIDATORS[validation_type]
            if _uses_patterns(validation_type, params):  # off the event loop, bounded
                errors = await off_loop(ctx, lambda: validate(data, params))
            else:
                errors = validate(data, params)
        except (_BadConfig, PatternLimitError) as exc:
            return _error(ctx, str(exc), validation_type)
        return _verdict(ctx, params, validation_type, data, errors)


def _uses_patterns(validation_type: str, params: dict[str, Any]) -> bool:
    if validation_type == "pattern":
        return True
    return validation_type == "json_schema" and schema_uses_patterns(params.get("schema"))


def _check_data(validation_type: Any, data: Any) -> str:
    if validation_type not in TYPES:
        return f"Unknown validation type: {validation_type}; expected one of {', '.join(TYPES)}"
    if validation_type == "json_schema":
        return "No data to validate: give data or in.data" if data is MISSING else ""
    if validation_type == "json":
        return "No data to validate for JSON validation" if data in (None, MISSING) else ""
    if not isinstance(data, (dict, list)):
        shown = "missing" if data is MISSING else repr(data)
        return f"data must be an object or a list to validate, got {shown}"
    return ""


def _error(ctx: NodeContext, message: str, validation_type: Any) -> Edge:
    return Edge(
        "error", {"error": message, "nodeId": ctx.node_id, "validationType": validation_type}
    )


def _summary(validation_type: str, valid: bool, data: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "isValid": valid,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "validationType": validation_type,
    }
    if validation_type != "json":
        summary["itemsValidated"] = len(data) if isinstance(data, list) else 1
    return summary


def _verdict(
    ctx: NodeContext, params: dict[str, Any], validation_type: str, data: Any, errors: Problems
) -> Edge:
    valid = not errors
    ctx.state["validationResult"] = _summary(validation_type, valid, data)
    ctx.state["validationErrors"] = errors
    edge_data: dict[str, Any] = {"data": data, "isValid": valid, "validationType": validation_type}
    if valid:
        return Edge("valid", edge_data)
    if params.get("outputErrors", True):
        edge_data["errors"] = errors
        edge_data["errorCount"] = len(errors)
    return Edge("invalid", edge_data)


# ---- json ---------------------------------------------------------------------------------


def _json(ctx: NodeContext, params: dict[str, Any], data: Any) -> Edge:
    """Valid when data is an object/list, or text that parses to one (written as parsedJson)."""
    parsed, problem = _parse_json(data)
    if problem:
        error = {"field": "__json__", "error": problem, "value": data}
        return _verdict(ctx, params, "json", data, [error])
    ctx.state["parsedJson"] = parsed
    edge = _verdict(ctx, params, "json", data, [])
    return Edge(edge.name, {**(edge.data or {}), "parsedJson": parsed})


def _parse_json(data: Any) -> tuple[Any, str]:
    if isinstance(data, (dict, list)):
        return data, ""
    if not isinstance(data, str):
        return None, f"Expected string for JSON validation, got {js_type(data)}"
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        return None, f"Invalid JSON: {exc}"
    if not isinstance(parsed, (dict, list)):
        kind = js_type(parsed)
        return None, f"JSON parsed to primitive value ({kind}), expected object or array"
    return parsed, ""


# ---- field rules --------------------------------------------------------------------------


def _field(data: Any, path: Any) -> Any:
    """A dotted path into objects and lists; MISSING when a step is absent."""
    current = data
    for key in to_text(path).split("."):
        if isinstance(current, Mapping) and key in current:
            current = current[key]
        elif isinstance(current, list) and key.isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return MISSING
    return current


def _shown(value: Any) -> Any:
    return None if value is MISSING else value


def _rules(params: dict[str, Any], name: str, label: str) -> list[Any]:
    rules = params.get(name)
    if not isinstance(rules, list):
        raise _BadConfig(f"{name} must be a list for {label} validation, got {rules!r}")
    for index, rule in enumerate(rules):
        needs_object = name != "requiredFields"
        if needs_object and (not isinstance(rule, Mapping) or not rule.get("field")):
            raise _BadConfig(f"{name}[{index}] must be an object with a field, got {rule!r}")
    return rules


def _type_check(data: Any, params: dict[str, Any]) -> Problems:
    errors: Problems = []
    for check in _rules(params, "typeChecks", "type_check"):
        value = _field(data, check["field"])
        actual = js_type(value)
        if actual != check.get("expectedType"):
            error = f"Expected type {check.get('expectedType')}, got {actual}"
            errors.append({"field": check["field"], "error": error, "value": _shown(value)})
    return errors


def _required_fields(data: Any, params: dict[str, Any]) -> Problems:
    errors: Problems = []
    for field in _rules(params, "requiredFields", "required_fields"):
        value = _field(data, field)
        if value in (MISSING, None, ""):
            error = "Required field is missing or empty"
            errors.append({"field": field, "error": error, "value": _shown(value)})
    return errors


def _range(data: Any, params: dict[str, Any]) -> Problems:
    errors: Problems = []
    for rule in _rules(params, "rangeValidations", "range"):
        field, value = rule["field"], _field(data, rule["field"])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            error = f"Field must be a number for range validation, got {js_type(value)}"
            errors.append({"field": field, "error": error, "value": _shown(value)})
            continue
        low, high = rule.get("min"), rule.get("max")
        if isinstance(low, (int, float)) and value < low:
            errors.append(
                {"field": field, "error": f"Value {value} is below minimum {low}", "value": value}
            )
        if isinstance(high, (int, float)) and value > high:
            errors.append(
                {"field": field, "error": f"Value {value} is above maximum {high}", "value": value}
            )
    return errors


def _pattern(data: Any, params: dict[str, Any]) -> Problems:
    errors: Problems = []
    for index, rule in enumerate(_rules(params, "patternValidations", "pattern")):
        field, value = rule["field"], _field(data, rule["field"])
        custom = rule.get("errorMessage")
        if value in (MISSING, None):
            error = custom or "Field value is missing for pattern validation"
            errors.append({"field": field, "error": error, "value": None})
            continue
        pattern = to_text(rule.get("pattern"))
        try:
            matches = _search(pattern, to_text(value), f"patternValidations[{index}].pattern")
        except PatternSyntaxError:
            errors.append(
                {"field": field, "error": f"Invalid regex pattern: {pattern}", "value": value}
            )
            continue
        if not matches:
            error = custom or f"Value does not match pattern: {pattern}"
            errors.append({"field": field, "error": error, "value": value})
    return errors


def _search(pattern: str, text: str, param: str) -> bool:
    """The bounded matcher (patterns.py); the empty pattern occurs in every text."""
    return not pattern or compile_user_regex(pattern, "", param=param).search(text)


# ---- json_schema ------------------------------------------------------------------------


def _json_schema(data: Any, params: dict[str, Any]) -> Problems:
    """JSON Schema, with its patterns on the bounded matcher (``validation_schema.py``)."""
    try:
        return schema_problems(data, params.get("schema"))
    except BadSchema as exc:
        raise _BadConfig(str(exc)) from None


# ---- custom -------------------------------------------------------------------------------

_RETURN: Final = re.compile(r"^\s*return\s+|;\s*$")


def _custom(data: Any, params: dict[str, Any]) -> Problems:
    """True → valid; false → one error; a list → those errors; {valid: false, error} → it."""
    text = params.get("customValidator")
    if not isinstance(text, str) or not text.strip():
        raise _BadConfig(f"customValidator must be an expression over data, got {text!r}")
    try:
        expression = compile_expression(_RETURN.sub("", text))
        variables = {**data, "data": data} if isinstance(data, Mapping) else {"data": data}
        result = expression.evaluate(variables)
    except ExpressionError as exc:
        raise _BadConfig(f"customValidator: {exc}") from None
    return _custom_problems(result)


def _custom_problems(result: Any) -> Problems:
    if result is False:
        return [{"field": "__custom__", "error": "Custom validation failed"}]
    if isinstance(result, list):
        return [_as_problem(item) for item in result]
    if isinstance(result, Mapping) and result.get("valid") is False:
        problem = {
            "field": "__custom__",
            "error": result.get("error") or "Custom validation failed",
        }
        if "value" in result:
            problem["value"] = result["value"]
        return [problem]
    if not js_truthy(result) and not isinstance(result, Mapping):
        return [{"field": "__custom__", "error": f"Custom validation returned {to_text(result)!r}"}]
    return []


def _as_problem(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return {"field": "__custom__", **item}
    return {"field": "__custom__", "error": to_text(item)}


_VALIDATORS: Final[dict[str, Callable[[Any, dict[str, Any]], Problems]]] = {
    "type_check": _type_check,
    "required_fields": _required_fields,
    "range": _range,
    "pattern": _pattern,
    "json_schema": _json_schema,
    "custom": _custom,
}

NODES: tuple[type[Node], ...] = (ValidateDataNode,)
