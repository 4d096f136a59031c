"""The jsonExtract node: one value out of nested data by path (§6).

The data is in.data when the node's inputs have a ``data`` key, else the whole state, as in the
original. ``dot_notation`` reads ``a.b.0``; ``bracket_notation`` and ``simple_path`` both read
``users[0].name`` and ``data['some.key']`` (the original's bracket_notation mistook ``.name``
after a bracket for a key with a dot; its documentation promised this form).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..engine import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .common import MISSING, error_edge

__all__ = ["JsonExtractNode"]

_METHODS = ("dot_notation", "bracket_notation", "simple_path")
_SEGMENT = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, MISSING)
    if isinstance(value, list) and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    return MISSING


def _segments(path: str, method: str) -> list[str]:
    if method == "dot_notation":
        return [key for key in path.split(".") if key]
    return [(bracket.strip("'\"") if bracket else name) for bracket, name in _SEGMENT.findall(path)]


def extract(source: Any, path: str, method: str) -> Any:
    """The value at ``path`` or MISSING; a stored null is found."""
    value = source
    for key in _segments(path, method):
        value = _lookup(value, key)
        if value is MISSING:
            return MISSING
    return value


class JsonExtractNode(Node):
    metadata = NodeMetadata(
        id="jsonExtract",
        name="JSON Extract",
        category="data",
        description=(
            "Reads the value at path from in.data (or the whole state when there is none) and "
            "stores it in outputField; not_found when the path leads nowhere (with fallbackValue "
            "stored instead, when given)."
        ),
        inputs=(
            ParamSpec("path", "string", "user.profile.name or users[0].name", True),
            ParamSpec("method", "string", "path syntax", default="dot_notation", choices=_METHODS),
            ParamSpec("fallbackValue", "any", "stored when the path is not found"),
            ParamSpec("outputField", "string", "state key for the value", default="extractedValue"),
        ),
        outputs=("<outputField>",),
        edges=("success", "not_found", "error"),
        example={"path": "user.profile.name", "outputField": "userName"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        path, method = params.get("path"), params.get("method", "dot_notation")
        output = params.get("outputField", "extractedValue")
        if not path or not isinstance(path, str):
            return error_edge(f"Missing required parameter: path, got {path!r}", nodeId=ctx.node_id)
        if method not in _METHODS:
            return error_edge(
                f"Unknown method: {method}",
                supportedMethods=list(_METHODS),
                nodeId=ctx.node_id,
            )
        if not output or not isinstance(output, str):
            return error_edge(f"outputField must be a state key, got {output!r}")
        inputs = ctx.inputs
        source = inputs.get("data", ctx.state)
        value = MISSING if source is None else extract(source, path, method)
        if value is MISSING:
            return self._not_found(ctx, params, path, method, output)
        ctx.state[output] = value
        return Edge(
            "success",
            {
                "value": value,
                "path": path,
                "method": method,
                "outputField": output,
                "message": "Successfully extracted value",
            },
        )

    @staticmethod
    def _not_found(
        ctx: NodeContext, params: dict[str, Any], path: str, method: str, output: str
    ) -> Edge:
        if "fallbackValue" in params:
            ctx.state[output] = params["fallbackValue"]
            return Edge(
                "not_found",
                {
                    "value": params["fallbackValue"],
                    "path": path,
                    "usedFallback": True,
                    "message": "Path not found, used fallback value",
                },
            )
        return Edge(
            "not_found",
            {
                "path": path,
                "method": method,
                "message": "Path not found and no fallback value provided",
                "nodeId": ctx.node_id,
            },
        )
