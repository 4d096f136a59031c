"""A step for the Google node tests: every edge it may take records which one it took and its
data, so a test reads the outcome the same way for every node (``taken``)."""

from __future__ import annotations

from typing import Any

# every edge a Google node has: its own (no_results, free, busy, config_error) and the failures
EDGES = (
    "success",
    "no_results",
    "free",
    "busy",
    "config_error",
    "not_found",
    "permission_denied",
    "quota_exceeded",
    "error",
)


def step(node: str, *, edges: tuple[str, ...] = EDGES, **params: Any) -> dict[str, Any]:
    """``node`` with ``params``, each of ``edges`` setting ``took`` and ``data``."""
    targets = {f"{edge}?": [{"$.data": "$._edgeContext"}, {"$.took": edge}] for edge in edges}
    return {node: {**params, **targets}}


def taken(state: dict[str, Any]) -> tuple[str, Any]:
    """The edge the step took, and its data."""
    assert "took" in state, f"the step took none of its edges: {sorted(state)}"
    return state["took"], state.get("data")
