"""The state setter: ``{"$.a.b": value}`` (WORKFLOW-LANGUAGE.md §3).

It lives in the engine because the syntax does: every workflow may use it, whatever nodes are
registered. The executor calls ``apply`` with the path parsed once at load time.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from .model import SETTER
from .node import Edge, Node, NodeContext, NodeMetadata, ParamSpec
from .result import iso_time
from .state import StatePath, copy_json, format_path, parse_path, set_path

__all__ = ["StateSetter"]

_set_item = dict.__setitem__
_now = time.time


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
        state = ctx.state
        if len(path) == 1:  # a top-level key (always a name)
            state[path[0]] = value  # type: ignore[index]
        else:
            set_path(state, path, value, replace_scalars=True)
        dotted, message = _texts(path)
        # a bookkeeping key, not counted in the state's size (state_size.py): written without
        # the run's note of the user's writes
        _set_item(
            state,
            "_lastStateSet",
            {"path": dotted, "value": value, "timestamp": iso_time(_now()), "nodeId": ctx.node_id},
        )
        return Edge("success", {"statePath": dotted, "value": value, "message": message})


@lru_cache(maxsize=4096)  # the same few paths, written again and again
def _texts(path: StatePath) -> tuple[str, str]:
    """The path as ``_lastStateSet`` shows it, and the message of the setter's edge."""
    dotted = format_path(path)
    return dotted, f"Set state at path: {dotted}"
