"""Object nodes: editFields, transformObject, objectUtilities, mathOperations (§6).

``editFields`` and ``transformObject`` are here; ``objectUtilities`` lives in
``objects_utilities.py`` and ``mathOperations`` in ``objects_math.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from ..engine.state import to_text
from .common import MISSING, error_edge, get_dotted, js_string, set_dotted, state_view
from .objects_math import MathOperationsNode
from .objects_utilities import ObjectUtilitiesNode
from .values import js_number, js_truthy, normalize_number

__all__ = ["NODES", "EditFieldsNode", "TransformObjectNode"]

_FIELD_TEMPLATE = re.compile(r"\{\{([^}]+)\}\}")
_FIELD_TYPES = ("string", "number", "boolean", "object", "array", "expression")
_EDIT_OUTPUTS = ("editFieldsResult", "fieldsModified")


def _fill_template(template: str, source: Mapping[str, Any]) -> str:
    """``{{user.name}}`` (no ``$.``: the original's own syntax) → the text of that input."""

    def text_of(match: re.Match[str]) -> str:
        value = get_dotted(source, match.group(1).strip())
        return to_text(None if value is MISSING else value)

    return _FIELD_TEMPLATE.sub(text_of, template)


def _convert(value: Any, kind: str) -> Any:
    """Converts a field's value to its declared type; ValueError when it cannot."""
    if kind == "string":
        return js_string(value)
    if kind == "number":
        number = js_number(value)
        if number != number:  # NaN
            raise ValueError(f'Cannot convert "{js_string(value)}" to number')
        return normalize_number(number)
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        return js_truthy(value)
    if kind == "object":
        return _to_object(value)
    if kind == "array":
        return _to_array(value)
    return value  # "expression" and unknown types keep the value


def _to_object(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ValueError(f'Cannot parse "{value}" as JSON object') from None
    if isinstance(value, (dict, list)):
        return value
    raise ValueError(f'Cannot convert "{js_string(value)}" to object')


def _to_array(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [part.strip() for part in value.split(",")]
        if isinstance(parsed, list):
            return parsed
    return [value]


class EditFieldsNode(Node):
    metadata = NodeMetadata(
        id="editFields",
        name="Edit Fields (Set)",
        category="data",
        description=(
            "Builds an object from the node's inputs (the state overlaid with the edge data, "
            "without the engine's _ keys): manual_mapping sets fields (dotted names nest, types "
            "convert, {{field}} in a value is that input's text); json_output parses a JSON "
            "template after filling its {{field}}s. Note: a field's type defaults to string."
        ),
        inputs=(
            ParamSpec(
                "mode",
                "string",
                "how to build the result",
                default="manual_mapping",
                choices=("manual_mapping", "json_output"),
            ),
            ParamSpec(
                "fieldsToSet",
                "array",
                "[{name, value, type}]; type is one of " + "/".join(_FIELD_TYPES),
                default=[],
            ),
            ParamSpec("jsonOutput", "string|object", "json_output mode: the JSON template"),
            ParamSpec(
                "includeOtherFields", "boolean", "start from a copy of the inputs", default=True
            ),
            ParamSpec("supportDotNotation", "boolean", "a dotted name nests", default=True),
            ParamSpec(
                "ignoreTypeErrors",
                "boolean",
                "skip fields that fail instead of taking the error edge",
                default=False,
            ),
        ),
        outputs=_EDIT_OUTPUTS,
        edges=("success", "error"),
        example={
            "mode": "manual_mapping",
            "fieldsToSet": [
                {"name": "user.fullName", "value": "{{first}} {{last}}", "type": "expression"},
                {"name": "score", "value": "100", "type": "number"},
            ],
            "includeOtherFields": False,
        },
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        mode = params.get("mode", "manual_mapping")
        if mode not in ("manual_mapping", "json_output"):
            return error_edge(
                f'Invalid mode: {mode}. Must be "manual_mapping" or "json_output"',
                nodeId=ctx.node_id,
            )
        try:
            if mode == "manual_mapping":
                result = self._manual_mapping(ctx.inputs, params)
            else:
                result = self._json_output(ctx.inputs, params)
        except ValueError as exc:
            return error_edge(str(exc), nodeId=ctx.node_id, mode=mode)
        ctx.state["editFieldsResult"] = result
        ctx.state["fieldsModified"] = list(result)
        return Edge("success", {"result": result, "fieldsModified": list(result), "mode": mode})

    def _manual_mapping(self, inputs: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        fields = params.get("fieldsToSet", [])
        if not isinstance(fields, list):
            raise ValueError(f"fieldsToSet must be a list of {{name, value, type}}, got {fields!r}")
        lenient = params.get("ignoreTypeErrors", False) is True
        dotted = params.get("supportDotNotation", True) is not False
        keep_others = params.get("includeOtherFields", True) is not False
        result = state_view(inputs, _EDIT_OUTPUTS) if keep_others else {}
        for position, spec in enumerate(fields):
            try:
                self._set_field(result, spec, position, inputs, dotted, lenient)
            except ValueError:
                if not lenient:
                    raise
        return result

    @staticmethod
    def _set_field(
        result: dict[str, Any],
        spec: Any,
        position: int,
        inputs: Mapping[str, Any],
        dotted: bool,
        lenient: bool,
    ) -> None:
        if not isinstance(spec, dict) or not spec.get("name"):
            raise ValueError(f"fieldsToSet[{position}]: Field name is required in fieldsToSet")
        name, value, kind = str(spec["name"]), spec.get("value"), spec.get("type", "string")
        if kind == "expression" or (isinstance(value, str) and "{{" in value):
            value = _fill_template(js_string(value), inputs)
        try:
            value = _convert(value, kind)
        except ValueError as exc:
            if not lenient:
                raise ValueError(f"fieldsToSet[{position}] ({name}): {exc}") from None
        if dotted and "." in name:
            set_dotted(result, name, value)
        else:
            result[name] = value

    @staticmethod
    def _json_output(inputs: Mapping[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        template = params.get("jsonOutput")
        if not template:
            raise ValueError('jsonOutput is required when mode is "json_output"')
        if isinstance(template, (dict, list)):
            template = json.dumps(template, ensure_ascii=False)
        try:
            result = json.loads(_fill_template(js_string(template), inputs))
        except ValueError as exc:
            if params.get("ignoreTypeErrors") is True:
                return {}
            raise ValueError(f"Failed to process JSON output (jsonOutput): {exc}") from None
        if not isinstance(result, dict):
            if params.get("ignoreTypeErrors") is True:
                return {}
            raise ValueError("Failed to process JSON output: jsonOutput must give an object")
        return result


class TransformObjectNode(Node):
    metadata = NodeMetadata(
        id="transformObject",
        name="Transform Object",
        category="data",
        description=(
            "Flattens, unflattens, picks, omits or renames the keys of an object: the data "
            "parameter, else in.data, else the whole state (without the engine's _ keys)."
        ),
        inputs=(
            ParamSpec(
                "operation",
                "string",
                "the transformation",
                True,
                choices=("flatten", "unflatten", "pick", "omit", "renameKeys"),
            ),
            ParamSpec("data", "object", "the object to transform (new; default in.data)"),
            ParamSpec("separator", "string", "flatten/unflatten: key separator", default="."),
            ParamSpec("depth", "number", "flatten: nesting levels to merge (default: all)"),
            ParamSpec("keys", "string[]", "pick/omit: the keys"),
            ParamSpec("renameMap", "object", "renameKeys: {oldKey: newKey}"),
            ParamSpec(
                "recursive", "boolean", "pick/omit/renameKeys in nested objects too", default=False
            ),
        ),
        outputs=("transformedObject",),
        edges=("success", "error"),
        example={"operation": "flatten", "data": {"user": {"name": "Ada", "age": 36}}},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        operation = params.get("operation")
        if not operation:
            return error_edge("Missing required parameter: operation", nodeId=ctx.node_id)
        data = self._source(ctx, params)
        if data is None:
            return error_edge("No data available to transform", nodeId=ctx.node_id)
        problem = _check_transform_params(operation, params)
        if problem:
            return error_edge(problem, nodeId=ctx.node_id)
        result = _transform(operation, data, params)
        ctx.state["transformedObject"] = result
        return Edge(
            "success",
            {
                "result": result,
                "operation": operation,
                "message": f"Successfully applied {operation} transformation",
            },
        )

    @staticmethod
    def _source(ctx: NodeContext, params: dict[str, Any]) -> Any:
        if "data" in params:
            return params["data"]
        inputs = ctx.inputs
        if "data" in inputs:
            return inputs["data"]
        return state_view(ctx.state, ("transformedObject",))


_TRANSFORMS = ("flatten", "unflatten", "pick", "omit", "renameKeys")


def _check_transform_params(operation: str, params: dict[str, Any]) -> str | None:
    if operation not in _TRANSFORMS:
        return f"Unknown operation: {operation}; supported: {', '.join(_TRANSFORMS)}"
    separator = params.get("separator", ".")
    if not isinstance(separator, str) or not separator:
        return f"separator must be a non-empty string, got {separator!r}"
    depth = params.get("depth")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        return f"depth must be an integer >= 0, got {depth!r}"
    keys = params.get("keys")
    if operation in ("pick", "omit") and not isinstance(keys, list):
        return f"Missing or invalid keys parameter for {operation} operation: {keys!r}"
    rename = params.get("renameMap")
    if operation == "renameKeys" and not isinstance(rename, dict):
        return f"Missing or invalid renameMap parameter for renameKeys operation: {rename!r}"
    return None


def _transform(operation: str, data: Any, params: dict[str, Any]) -> Any:
    if not isinstance(data, dict):
        return data  # as the original: only objects are transformed
    separator, recursive = params.get("separator", "."), params.get("recursive") is True
    if operation == "flatten":
        return _flatten(data, separator, params.get("depth"))
    if operation == "unflatten":
        return _unflatten(data, separator)
    if operation == "pick":
        return _pick(data, [str(k) for k in params["keys"]], recursive)
    if operation == "omit":
        return _omit(data, {str(k) for k in params["keys"]}, recursive)
    return _rename(data, params["renameMap"], recursive)


def _flatten(
    data: dict[str, Any], separator: str, depth: int | None, prefix: str = ""
) -> dict[str, Any]:
    """Nested objects become ``a.b`` keys; past ``depth`` merged levels they stay values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{separator}{key}" if prefix else key
        if isinstance(value, dict) and (depth is None or depth > 0):
            out.update(_flatten(value, separator, None if depth is None else depth - 1, name))
        else:
            out[name] = value
    return out


def _unflatten(data: dict[str, Any], separator: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flat_key, value in data.items():
        *parents, last = flat_key.split(separator)
        current = out
        for segment in parents:
            if not isinstance(current.get(segment), dict):
                current[segment] = {}
            current = current[segment]
        current[last] = value
    return out


def _pick(data: dict[str, Any], keys: list[str], recursive: bool) -> dict[str, Any]:
    return {
        key: _pick(data[key], keys, recursive)
        if recursive and isinstance(data[key], dict)
        else data[key]
        for key in keys
        if key in data
    }


def _omit(data: dict[str, Any], keys: set[str], recursive: bool) -> dict[str, Any]:
    return {
        key: _omit(value, keys, recursive) if recursive and isinstance(value, dict) else value
        for key, value in data.items()
        if key not in keys
    }


def _rename(data: dict[str, Any], names: dict[str, Any], recursive: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        new_key = names.get(key) or key  # an empty new name keeps the key, as the original
        out[str(new_key)] = (
            _rename(value, names, recursive) if recursive and isinstance(value, dict) else value
        )
    return out


NODES: tuple[type[Node], ...] = (
    EditFieldsNode,
    TransformObjectNode,
    ObjectUtilitiesNode,
    MathOperationsNode,
)
