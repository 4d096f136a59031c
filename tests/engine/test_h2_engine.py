"""The executor's hot path (issue 14 item 4): what it reuses and defers must not show.

A step's context is built once per run and reused, timeline entries are built when the timeline
is read, a plain step inside a loop's body runs without a coroutine of the walk, and literal
scalars of a parameter object are not resolved per run. Each test here fails if the shortcut
leaks (a stale context, a shared literal, a wrong time).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from workscript_jupyter.engine import (
    Edge,
    Execution,
    Node,
    NodeContext,
    NodeMetadata,
    RunResult,
    load_workflow,
)
from workscript_jupyter.engine.node_call import StepContext
from workscript_jupyter.engine.result import iso_time
from workscript_jupyter.engine.state import compile_value
from workscript_jupyter.nodes import builtin_registry


def doc(steps: list[Any], state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "h2",
        "name": "h2",
        "version": "1.0.0",
        "initialState": state or {},
        "workflow": steps,
    }


class Seen(Node):
    """Records what its context shows: the edge data that led here, and its memory."""

    metadata = NodeMetadata(id="seen", name="seen", description="test")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        inputs = ctx.inputs
        ctx.memory["runs"] = ctx.memory.get("runs", 0) + 1
        ctx.state.setdefault("seen", []).append(
            [inputs.get("value"), inputs.get("result"), ctx.memory["runs"], ctx.node_path]
        )
        return Edge("success", {"result": params.get("tag")})


def run(document: dict[str, Any], **options: Any) -> RunResult:
    registry = builtin_registry(plugins=False)
    registry.register(Seen)
    workflow = load_workflow(document, registry)
    return asyncio.run(Execution(workflow, registry, **options).run())


def test_a_step_context_has_every_field_a_node_context_has() -> None:
    state: dict[str, Any] = {"a": 1}
    memory: dict[str, dict[str, Any]] = {}
    shared = {
        "workflow_id": "wf",
        "execution_id": "ex",
        "memory_store": memory,
        "services": object(),
        "on_log": print,
        "on_event": print,
    }
    run_context = NodeContext(state, node_id="", node_type="", node_path="", **shared)  # type: ignore[arg-type]
    registry = builtin_registry(plugins=False)
    step = load_workflow(doc([{"log": {"message": "x"}}]), registry).steps[0]
    built = StepContext(run_context, step, {"value": 3})
    plain = NodeContext(
        state,
        node_id=step.key,
        node_type=step.type,
        node_path=step.path,
        edge_data={"value": 3},
        **shared,  # type: ignore[arg-type]
    )
    for slot in NodeContext.__slots__:  # a slot added to NodeContext and not set here fails
        assert getattr(built, slot) == getattr(plain, slot), slot
    assert built.inputs == {"a": 1, "value": 3}


def test_a_reused_context_shows_each_run_its_own_edge_data() -> None:
    body = [{"seen": {"tag": "first"}}, {"seen": {"tag": "second"}}]
    result = run(doc([{"range...": {"stop": 3, "current_step?": body}}]))
    assert result.status == "completed", result.error
    seen = result.final_state["seen"]
    # the first body step reads the range's edge data, the second the first's; memory persists
    # within the loop for each step
    assert [row[:3] for row in seen] == [
        [0, None, 1],
        [None, "first", 1],
        [1, None, 2],
        [None, "first", 2],
        [2, None, 3],
        [None, "first", 3],
    ]
    assert {row[3] for row in seen} == {
        "/workflow/0/range.../current_step?/0/seen",
        "/workflow/0/range.../current_step?/1/seen",
    }


def test_steps_nested_in_a_loop_body_run_in_order() -> None:
    body = [
        {"logic": {"operation": "less", "values": ["$.rangeValue", 1], "true?": {"$.low": 1}}},
        {"$.after": "$.rangeValue"},
    ]
    result = run(doc([{"range...": {"stop": 3, "current_step?": body}}, {"$.end": True}]))
    assert result.status == "completed", result.error
    assert result.final_state["low"] == 1 and result.final_state["after"] == 2
    assert result.node_runs == 4 + 3 * 2 + 1 + 1  # range x4, body x3, the true branch once, end


def test_timeline_entries_are_built_with_the_run_s_times() -> None:
    before = time.time()
    result = run(doc([{"$.a": 1}, {"seen": {}}, {"$.b": 2}]))
    after = time.time()
    entries = result.timeline
    assert [e.path for e in entries] == ["/workflow/0/$.a", "/workflow/1/seen", "/workflow/2/$.b"]
    starts = [e.started_at for e in entries]
    assert before <= starts[0] <= starts[1] <= starts[2] <= after
    assert all(e.duration_ms >= 0 for e in entries)
    assert all(e.started_at + e.duration_ms / 1000 <= after for e in entries)


def test_a_literal_list_in_parameters_is_a_fresh_copy_each_run() -> None:
    resolve = compile_value({"op": "add", "rows": [{"n": 1}], "x": "$.x"})
    assert resolve is not None
    first, second = resolve({"x": 1}), resolve({})
    assert first == {"op": "add", "rows": [{"n": 1}], "x": 1}
    assert second == {"op": "add", "rows": [{"n": 1}]}  # a missing reference is left out
    first["rows"].append("changed")
    assert resolve({})["rows"] == [{"n": 1}]


def test_iso_time_matches_javascript_to_iso_string() -> None:
    for moment in (0.0, 1.9995, 59.001, 1_700_000_000.123456, 1_700_000_000.999999):
        whole = int(moment)
        expected = datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        expected += f"{int((moment - whole) * 1000):03d}Z"
        assert iso_time(moment) == expected
