"""Shared by the data and array node tests: call a node directly, as the engine would."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.engine import Edge, Node, NodeContext


def call(
    node: Node,
    params: dict[str, Any],
    state: dict[str, Any] | None = None,
    *,
    edge_data: dict[str, Any] | None = None,
    services: Any = None,
    memory: dict[str, dict[str, Any]] | None = None,
    workflow_id: str = "wf",
    node_path: str | None = None,
) -> tuple[Edge, dict[str, Any]]:
    """Run ``node`` once; returns the edge it took and the state it wrote to."""
    state = {} if state is None else state
    node_id = node.metadata.id
    ctx = NodeContext(
        state,
        node_id=node_id,
        node_type=node_id,
        node_path=node_path or f"/workflow/0/{node_id}",
        workflow_id=workflow_id,
        edge_data=edge_data,
        services=services,
        memory_store=memory,
    )
    edge = asyncio.run(node.execute(ctx, params))
    assert edge is not None
    return edge, state


def assert_error(edge: Edge, *words: str) -> None:
    """The error edge, with a message naming each of ``words``."""
    assert edge.name == "error", edge
    assert edge.data is not None
    message = edge.data["error"]
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
