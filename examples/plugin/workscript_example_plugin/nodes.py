"""``example-greet``: the plugin's node, registered beside the built-in ones."""

from __future__ import annotations

from typing import Any

from workscript_jupyter.engine.node import Edge, Node, NodeContext, NodeMetadata, ParamSpec

__all__ = ["GreetNode"]


class GreetNode(Node):
    metadata = NodeMetadata(
        id="example-greet",
        name="Greet (example plugin)",
        description="Writes a greeting for a name into the state: the example plugin's node.",
        category="example",
        inputs=(ParamSpec("name", "string", "who to greet", default="world"),),
        outputs=("greeting",),
        edges=("success",),
        example={"name": "Ada"},
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        name = params.get("name")
        greeting = f"Hello, {name if isinstance(name, str) and name else 'world'}!"
        ctx.state["greeting"] = greeting
        return Edge("success", {"greeting": greeting})
