"""The state setter: ``{"$.a.b": value}`` (WORKFLOW-LANGUAGE.md §3).

It lives in the engine because the syntax does: every workflow may use it, whatever nodes are
registered. The executor calls ``apply`` with the path parsed once at load time.
"""

from __future__ import annotations

import time
from typing import Any

from .model import SETTER
from .node import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .result import iso_time
from .state import StatePath, copy_json, format_path, parse_path, set_path

__all__ = ["StateSetter"]


class StateSetter(Node):
    metadata = NodeMetadata(
        id=SETTER,
        name="State Setter",
        description=(
            'Writes a value into the state: {"$.a.b": value} creates objects on the way. '
            'The explicit form {"$.x": {"value": 5, "success?": ...}} takes edges.'
        ),
        inputs=(ParamSpec("value", "any", "the value to store; $. references resolve", True),),
        outputs=("<path>", "_lastStateSet"),
        edges=("success", "error"),
        example={"$.user.name": "$.form.name"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        return self.apply(ctx, parse_path(ctx.node_id), params)

    @staticmethod
    def apply(ctx: NodeContext, path: StatePath, params: dict[str, Any]) -> Edge:
        if "value" not in params:
            return Edge(
                "error",
                {
                    "error": f"state setter {ctx.node_id} has no value to set "
                    "(a missing $. reference, or no value given)",
                    "nodeId": ctx.node_id,
                },
            )
        value = params["value"]
        if isinstance(value, (dict, list)):  # {"$.b": "$.a"} copies: b does not follow a later
            value = copy_json(value)
        set_path(ctx.state, path, value, replace_scalars=True)
        dotted = format_path(path)
        ctx.state["_lastStateSet"] = {
            "path": dotted,
            "value": value,
            "timestamp": iso_time(time.time()),
            "nodeId": ctx.node_id,
        }
        return Edge(
            "success",
            {"statePath": dotted, "value": value, "message": f"Set state at path: {dotted}"},
        )
