"""``FallbackEdge``: an edge a step may leave out without the failure passing unnoticed. Taken
as itself when the step configures it; otherwise as ``error`` with the same data (caught by
``error?``, or reported as an unhandled error edge: a warning, or the run's failure under
``onUnhandledError: fail``) — never a silent next step. In a loop and inline too."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.engine import (
    Edge,
    Execution,
    FallbackEdge,
    Node,
    NodeContext,
    NodeMetadata,
    RunResult,
    load_workflow,
)
from workscript_jupyter.nodes import builtin_registry

DATA = {"error": "no such thing", "code": "NOT_FOUND"}


class Lookup(Node):
    metadata = NodeMetadata(id="lookup", name="lookup", description="finds nothing, ever")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        return FallbackEdge("not_found", DATA)


def run(*steps: Any, **extra: Any) -> RunResult:
    registry = builtin_registry(plugins=False)
    registry.register(Lookup)
    document = {"id": "f", "name": "f", "version": "1.0.0", "workflow": list(steps), **extra}
    workflow = load_workflow(document, registry)
    return asyncio.run(Execution(workflow, registry).run())


def test_a_configured_fallback_edge_is_taken_as_itself() -> None:
    result = run(
        {"lookup": {"not_found?": {"$.missing": "$._edgeContext"}, "error?": {"$.err": True}}}
    )
    assert result.final_state["missing"] == DATA and "err" not in result.final_state
    assert not result.warnings


def test_without_it_the_step_takes_error_with_the_same_data() -> None:
    result = run({"lookup": {"error?": {"$.err": "$._edgeContext"}}}, {"$.after": True})
    assert result.final_state["err"] == DATA and result.final_state["after"] is True
    assert result.timeline[0].edge == "error"


def test_with_neither_it_is_an_unhandled_error_not_a_silent_step() -> None:
    result = run({"lookup": {}}, {"$.after": True})
    assert result.status == "completed" and result.final_state["after"] is True
    assert [w["code"] for w in result.warnings] == ["UNHANDLED_ERROR_EDGE"]
    failed = run({"lookup": {}}, {"$.after": True}, onUnhandledError="fail")
    assert failed.status == "failed" and failed.error is not None
    assert "after" not in failed.final_state


def test_inline_and_in_a_loop_body() -> None:
    inline = run({"log": {"message": "x", "success?": {"lookup": {"error?": {"$.err": 1}}}}})
    assert inline.final_state["err"] == 1
    body = [{"lookup": {"error?": {"$.errs": "$.rangeValue"}}}]
    looped = run({"range...": {"stop": 3, "current_step?": body}})
    assert looped.final_state["errs"] == 2 and not looped.warnings
