"""Running workflows: events, cancellation, timeouts, retries, timeline, state (§4-5)."""

from __future__ import annotations

import asyncio
import time
from types import MappingProxyType
from typing import Any

import pytest

from workscript_jupyter.engine import (
    Edge,
    Event,
    Execution,
    Node,
    NodeContext,
    NodeMetadata,
    NodeRegistry,
    RunResult,
    copy_json,
    load_workflow,
    run_workflow,
)
from workscript_jupyter.nodes import BUILTIN_NODES


def doc(steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps, **extra}


# -- custom nodes -------------------------------------------------------------------------------


class Flaky(Node):
    """Raises until it has been called ``failures`` + 1 times (count kept in the state)."""

    metadata = NodeMetadata(id="flaky", name="Flaky", description="fails N times")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        ctx.state["attempts"] = ctx.state.get("attempts", 0) + 1
        if ctx.state["attempts"] <= params.get("failures", 0):
            if params.get("mode") == "edge":
                return Edge("error", {"error": f"edge failure {ctx.state['attempts']}"})
            raise RuntimeError(f"failure {ctx.state['attempts']}")
        return Edge("success", {"attempts": ctx.state["attempts"]})


class BadReturn(Node):
    metadata = NodeMetadata(id="bad-return", name="Bad", description="returns a number")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Any:
        return 42


class StringReturn(Node):
    metadata = NodeMetadata(id="string-return", name="Str", description="returns an edge name")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Any:
        return "yes"


class Boom(Node):
    metadata = NodeMetadata(id="boom", name="Boom", description="always raises")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        raise ValueError("kaboom")


class Counter(Node):
    """A loop node that takes ``again`` until it has been visited three times (ctx.memory)."""

    metadata = NodeMetadata(id="counter", name="Counter", description="counts visits")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        visits = ctx.memory.get("visits", 0) + 1
        ctx.memory["visits"] = visits
        ctx.state.setdefault("visits", []).append(visits)
        return Edge("again") if visits < 3 else Edge("stop")


class Tally(Node):
    """A plain node that remembers how often it ran (ctx.memory)."""

    metadata = NodeMetadata(id="tally", name="Tally", description="counts runs")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> None:
        ctx.memory["n"] = ctx.memory.get("n", 0) + 1
        ctx.state.setdefault("tally", []).append(ctx.memory["n"])
        return None


class Peek(Node):
    """Records what it sees in ctx.inputs."""

    metadata = NodeMetadata(id="peek", name="Peek", description="looks at inputs")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> None:
        inputs = ctx.inputs
        seen = {k: inputs.get(k) for k in ("result", "other")}
        try:
            inputs["written"] = True  # type: ignore[index]
            seen["writable"] = True
        except TypeError:
            seen["writable"] = False
        seen["proxy"] = isinstance(inputs, MappingProxyType)
        ctx.state.setdefault("peeks", []).append(seen)
        return None


CUSTOM = (Flaky, BadReturn, StringReturn, Boom, Counter, Tally, Peek)


@pytest.fixture(scope="module")
def reg() -> NodeRegistry:
    return NodeRegistry((*BUILTIN_NODES, *CUSTOM))


def go(reg: NodeRegistry, document: Any, state: Any = None, **options: Any) -> RunResult:
    return asyncio.run(run_workflow(load_workflow(document, reg), reg, state, **options))


def record(reg: NodeRegistry, document: Any, state: Any = None) -> tuple[RunResult, list[Event]]:
    events: list[Event] = []
    result = go(reg, document, state, on_event=events.append)
    return result, events


# -- basics -------------------------------------------------------------------------------------


def test_result_shape(run: Any) -> None:
    result = run(doc([{"math": {"operation": "add", "values": [1, 2]}}]))
    assert result.status == "completed"
    assert result.ok is True
    assert result.error is None
    assert result.workflow_id == "wf"
    assert result.execution_id.startswith("exec_")
    assert result.node_runs == 1
    assert result.final_state["mathResult"] == 3
    assert result.final_state["_edgeContext"] == {"result": 3}
    data = result.to_dict()
    assert data["status"] == "completed"
    assert data["nodeRuns"] == 1
    assert data["finalState"]["mathResult"] == 3
    assert data["timeline"][0]["path"] == "/workflow/0/math"
    assert data["timeline"][0]["edge"] == "success"
    assert data["timelineDropped"] == 0
    assert data["startedAt"].endswith("Z")


def test_execution_id_is_used(run: Any) -> None:
    assert run(doc(["empty"]), execution_id="exec_mine").execution_id == "exec_mine"


def test_setter_records_last_state_set(run: Any) -> None:
    result = run(doc([{"$.a.b": "$.n"}]), {"n": [1, 2]})
    assert result.final_state["a"] == {"b": [1, 2]}
    last = result.final_state["_lastStateSet"]
    assert {k: last[k] for k in ("path", "value", "nodeId")} == {
        "path": "a.b",
        "value": [1, 2],
        "nodeId": "$.a.b",
    }
    assert last["timestamp"].endswith("Z")


def test_string_return_is_an_edge_name(reg: NodeRegistry) -> None:
    result = go(reg, doc([{"string-return": {"yes?": {"$.took": True}}}]))
    assert result.final_state["took"] is True


def test_top_level_jump_skips_steps(run: Any) -> None:
    result = run(
        doc(
            [
                {"logic": {"operation": "equal", "values": [1, 1], "true?": "log"}},
                {"$.skipped": True},
                {"log": {"message": "landed"}},
            ]
        )
    )
    assert "skipped" not in result.final_state
    assert result.final_state["lastLoggedMessage"] == "landed"


def test_backward_jump_loops(run: Any) -> None:
    steps = [
        {"math": {"operation": "add", "values": ["$.i", 1]}},
        {"$.i": "$.mathResult"},
        {"logic": {"operation": "less", "values": ["$.i", 3], "true?": "math"}},
    ]
    assert run(doc(steps, initialState={"i": 0})).final_state["i"] == 3
    failed = run(doc(steps, initialState={"i": 0}, maxLoopIterations=1))
    assert failed.status == "failed"
    assert failed.error.code == "LOOP_LIMIT_EXCEEDED"
    assert failed.error.node_path == "/workflow/0/math"
    assert failed.final_state["i"] == 2


def test_loop_limit_names_the_loop(run: Any) -> None:
    result = run(
        doc(
            [{"while...": {"condition": True, "maxIterations": 10**6, "do?": "empty"}}],
            maxLoopIterations=5,
        )
    )
    assert result.status == "failed"
    assert result.error.code == "LOOP_LIMIT_EXCEEDED"
    assert result.error.node_path == "/workflow/0/while..."
    assert "/workflow/0/while..." in result.error.message
    assert result.final_state["whileIteration"] == 4


def test_null_target_exits_a_loop(run: Any) -> None:
    result = run(doc([{"range...": {"stop": 5, "current_step?": None}}]))
    assert result.status == "completed"
    assert result.final_state["rangeValue"] == 0
    assert result.node_runs == 1


def test_nested_iterators_restart(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "range...": {
                        "stop": 2,
                        "valueKey": "outer",
                        "indexKey": "outerIndex",
                        "current_step?": [
                            {
                                "range...": {
                                    "stop": 3,
                                    "current_step?": [
                                        {"math": {"operation": "add", "values": ["$.n", 1]}},
                                        {"$.n": "$.mathResult"},
                                    ],
                                }
                            }
                        ],
                    }
                }
            ],
            initialState={"n": 0},
        )
    )
    assert result.status == "completed"
    assert result.final_state["n"] == 6


def test_raise_caught_by_error_edge(reg: NodeRegistry) -> None:
    result = go(reg, doc([{"boom": {"error?": {"$.handled": "$._edgeContext"}}}, {"$.after": 1}]))
    assert result.status == "completed"
    assert result.final_state["handled"] == {"error": "kaboom", "type": "ValueError"}
    assert result.final_state["after"] == 1


def test_raise_without_error_edge_fails_keeping_state(reg: NodeRegistry) -> None:
    result = go(reg, doc([{"$.before": 1}, "boom", {"$.after": 1}]), {"x": 9})
    assert result.status == "failed"
    assert result.error.to_dict() == {
        "message": "kaboom",
        "code": "NODE_EXECUTION_ERROR",
        "nodePath": "/workflow/1",
        "nodeType": "boom",
    }
    assert result.final_state["before"] == 1
    assert result.final_state["x"] == 9
    assert "after" not in result.final_state


def test_unhandled_error_edge_is_a_warning(run: Any) -> None:
    result = run(doc([{"math": {"operation": "divide", "values": [1, 0]}}, {"$.after": 1}]))
    assert result.status == "completed"
    assert result.final_state["after"] == 1
    assert result.warnings == (
        {
            "nodePath": "/workflow/0/math",
            "nodeType": "math",
            "message": "division by zero",
            "code": "UNHANDLED_ERROR_EDGE",
        },
    )
    assert result.timeline[0].error == "division by zero"


def test_unhandled_error_edge_can_fail(run: Any) -> None:
    result = run(
        doc(
            [{"math": {"operation": "divide", "values": [1, 0]}}, {"$.after": 1}],
            onUnhandledError="fail",
        )
    )
    assert result.status == "failed"
    assert result.error.code == "UNHANDLED_ERROR_EDGE"
    assert result.error.message == "division by zero"
    assert "after" not in result.final_state


def test_handled_error_edge_is_no_warning(run: Any) -> None:
    result = run(
        doc(
            [{"math": {"operation": "divide", "values": [1, 0], "error?": {"$.err": 1}}}],
            onUnhandledError="fail",
        )
    )
    assert result.status == "completed"
    assert result.warnings == ()
    assert result.final_state["err"] == 1


def test_bad_return_type_fails_clearly(reg: NodeRegistry) -> None:
    result = go(reg, doc([{"$.before": 1}, "bad-return"]))
    assert result.status == "failed"
    assert result.error.code == "NODE_EXECUTION_ERROR"
    assert result.error.node_path == "/workflow/1"
    assert result.error.node_type == "bad-return"
    assert result.error.message == "node 'bad-return' returned int; expected an Edge or None"
    assert result.final_state["before"] == 1


# -- events -------------------------------------------------------------------------------------


def test_event_sequence_and_payloads(run: Any) -> None:
    events: list[Event] = []
    result = run(
        doc([{"log": {"message": "hi"}}, {"$.x": 1}], initialState={"s": 1}),
        on_event=events.append,
        execution_id="exec_ev",
    )
    assert [e.type for e in events] == [
        "workflow:started",
        "node:started",
        "node:completed",
        "node:started",
        "node:completed",
        "workflow:completed",
    ]
    assert all(e.execution_id == "exec_ev" and e.workflow_id == "wf" for e in events)
    assert events[0].payload == {"workflowName": "Test"}
    assert events[1].payload == {"nodePath": "/workflow/0/log", "nodeType": "log"}
    completed = events[2].payload
    assert completed["nodePath"] == "/workflow/0/log"
    assert completed["nodeType"] == "log"
    assert completed["edge"] == "success"
    assert isinstance(completed["durationMs"], float) and completed["durationMs"] >= 0
    assert "error" not in completed
    assert events[3].payload["nodeType"] == "__state_setter__"
    assert events[-1].payload["status"] == "completed"
    assert events[-1].payload["durationMs"] == pytest.approx(result.duration_ms)
    assert "error" not in events[-1].payload
    stamps = [e.timestamp for e in events]
    assert stamps == sorted(stamps)


def test_event_to_message(run: Any) -> None:
    events: list[Event] = []
    run(doc(["empty"]), on_event=events.append, execution_id="exec_m")
    before = time.time()
    message = events[1].to_message()
    assert set(message) == {"type", "payload", "timestamp"}
    assert message["type"] == "node:started"
    assert message["payload"] == {
        "executionId": "exec_m",
        "workflowId": "wf",
        "nodePath": "/workflow/0",
        "nodeType": "empty",
    }
    assert isinstance(message["timestamp"], int)
    assert abs(message["timestamp"] - before * 1000) < 5000


def test_event_to_message_direct() -> None:
    event = Event("node:failed", "e1", "w1", {"error": "x"}, timestamp=1.5)
    assert event.to_message() == {
        "type": "node:failed",
        "payload": {"executionId": "e1", "workflowId": "w1", "error": "x"},
        "timestamp": 1500,
    }


def test_node_failed_event_for_handled_raise(reg: NodeRegistry) -> None:
    _, events = record(reg, doc([{"boom": {"error?": None}}]))
    assert [e.type for e in events] == [
        "workflow:started",
        "node:started",
        "node:failed",
        "workflow:completed",
    ]
    assert events[2].payload["edge"] == "error"
    assert events[2].payload["error"] == "kaboom"


def test_node_failed_event_for_unhandled_error_edge(run: Any) -> None:
    events: list[Event] = []
    run(doc([{"math": {"operation": "divide", "values": [1, 0]}}]), on_event=events.append)
    assert events[2].type == "node:failed"
    assert events[2].payload["error"] == "division by zero"
    assert events[2].payload["edge"] == "error"


def test_workflow_failed_event(reg: NodeRegistry) -> None:
    _, events = record(reg, doc(["boom"]))
    assert events[0].type == "workflow:started"
    assert events[-1].type == "workflow:failed"
    assert events[-1].payload["status"] == "failed"
    assert events[-1].payload["error"] == {
        "message": "kaboom",
        "code": "NODE_EXECUTION_ERROR",
        "nodePath": "/workflow/0",
        "nodeType": "boom",
    }


def test_node_that_fails_the_run_emits_node_failed(reg: NodeRegistry) -> None:
    # §5: node:failed is the event of a failing node, also (above all) when it fails the run.
    _, events = record(reg, doc(["boom"]))
    assert [e.type for e in events] == [
        "workflow:started",
        "node:started",
        "node:failed",
        "workflow:failed",
    ]
    assert events[2].payload["nodePath"] == "/workflow/0"
    assert events[2].payload["error"] == "kaboom"


def test_end_node_completes_its_node_events(run: Any) -> None:
    # every node:started has its node:completed / node:failed, the end node included
    events: list[Event] = []
    run(doc([{"end": {"status": "completed"}}]), on_event=events.append)
    started = [e for e in events if e.type == "node:started"]
    finished = [e for e in events if e.type in ("node:completed", "node:failed")]
    assert len(started) == len(finished) == 1


def test_workflow_cancelled_event(run: Any) -> None:
    events: list[Event] = []

    async def main() -> RunResult:
        from workscript_jupyter.nodes import builtin_registry

        registry = builtin_registry(plugins=False)
        workflow = load_workflow(doc([{"wait": {"seconds": 5}}]), registry)
        execution = Execution(workflow, registry, on_event=events.append)
        task = asyncio.create_task(execution.run())
        await asyncio.sleep(0.02)
        execution.cancel()
        return await task

    result = asyncio.run(main())
    assert result.status == "cancelled"
    assert events[-1].type == "workflow:cancelled"
    assert events[-1].payload["error"]["code"] == "CANCELLED"


def test_no_event_objects_without_listener(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    import workscript_jupyter.engine.executor as executor

    built: list[str] = []

    class CountingEvent(Event):  # type: ignore[misc]
        def __new__(cls, kind: str, *args: Any, **kwargs: Any) -> Any:
            built.append(kind)
            return Event(kind, *args, **kwargs)

    monkeypatch.setattr(executor, "Event", CountingEvent)
    document = doc(
        [
            {"range...": {"stop": 5, "current_step?": [{"log": {"message": "{{$.rangeValue}}"}}]}},
            {"math": {"operation": "divide", "values": [1, 0]}},
        ]
    )
    result = run(document)
    assert result.node_runs == 12
    assert built == []
    # the patch is effective: with a listener, the same run builds its events through it
    seen: list[Event] = []
    run(document, on_event=seen.append)
    assert len(built) == len(seen) == 2 + 2 * 12


# -- cancellation -------------------------------------------------------------------------------


def test_cancel_keeps_state_and_returns_cancelled(registry: NodeRegistry) -> None:
    workflow = load_workflow(doc([{"$.a": 1}, {"wait": {"seconds": 5}}, {"$.b": 2}]), registry)

    async def main() -> tuple[RunResult, list[bool], bool]:
        execution = Execution(workflow, registry)
        task = asyncio.create_task(execution.run())
        await asyncio.sleep(0.05)
        answers = [execution.cancel()]
        answers.append(execution.cancel())  # already asked
        result = await task
        answers.append(execution.cancel())  # finished
        return result, answers, task.cancelled()

    started = time.perf_counter()
    result, answers, task_cancelled = asyncio.run(main())
    assert time.perf_counter() - started < 2
    assert answers == [True, False, False]
    assert task_cancelled is False
    assert result.status == "cancelled"
    assert result.error.code == "CANCELLED"
    assert result.error.node_path == "/workflow/1/wait"
    assert result.final_state["a"] == 1
    assert "b" not in result.final_state


def test_run_twice_raises(registry: NodeRegistry) -> None:
    workflow = load_workflow(doc(["empty"]), registry)

    async def main() -> None:
        execution = Execution(workflow, registry)
        assert (await execution.run()).status == "completed"
        with pytest.raises(RuntimeError, match="runs once"):
            await execution.run()

    asyncio.run(main())


def test_foreign_cancellation_propagates(registry: NodeRegistry) -> None:
    workflow = load_workflow(doc([{"wait": {"seconds": 5}}]), registry)

    async def main() -> None:
        task = asyncio.create_task(Execution(workflow, registry).run())
        await asyncio.sleep(0.02)
        task.cancel()  # not execution.cancel(): the caller's own cancellation
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


# -- timeouts and retries -----------------------------------------------------------------------


def test_workflow_timeout(run: Any) -> None:
    started = time.perf_counter()
    result = run(doc([{"$.a": 1}, {"wait": {"seconds": 5}}, {"$.b": 1}], timeoutSeconds=0.05))
    assert time.perf_counter() - started < 2
    assert result.status == "timed_out"
    assert result.error.code == "WORKFLOW_TIMEOUT"
    assert result.error.node_path == "/workflow/1/wait"
    assert "0.05" in result.error.message
    assert result.final_state["a"] == 1
    assert "b" not in result.final_state


def test_node_timeout_fails_the_run(run: Any) -> None:
    result = run(doc([{"wait": {"seconds": 5, "_timeoutSeconds": 0.05}}, {"$.after": 1}]))
    assert result.status == "failed"
    assert result.error.code == "NODE_TIMEOUT"
    assert result.error.node_path == "/workflow/0/wait"
    assert result.error.node_type == "wait"
    assert result.error.message == "node ran longer than its _timeoutSeconds (0.05 s)"
    assert "after" not in result.final_state


def test_node_timeout_takes_error_edge(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "wait": {
                        "seconds": 5,
                        "_timeoutSeconds": 0.05,
                        "error?": {"$.caught": "$._edgeContext.type"},
                    }
                }
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["caught"] == "NodeTimeoutError"


def test_node_within_timeout_succeeds(run: Any) -> None:
    result = run(doc([{"wait": {"seconds": 0, "_timeoutSeconds": 1, "success?": {"$.ok": 1}}}]))
    assert result.final_state["ok"] == 1


@pytest.mark.parametrize(
    ("failures", "status", "attempts"), [(0, "completed", 1), (2, "completed", 3), (3, "failed", 3)]
)
def test_retry_on_raise(reg: NodeRegistry, failures: int, status: str, attempts: int) -> None:
    result = go(
        reg,
        doc([{"flaky": {"failures": failures, "_retry": {"maxAttempts": 3, "delaySeconds": 0}}}]),
    )
    assert result.status == status
    assert result.final_state["attempts"] == attempts
    if status == "failed":
        assert result.error.message == "failure 3"


def test_retry_on_error_edge(reg: NodeRegistry) -> None:
    result = go(
        reg,
        doc(
            [
                {
                    "flaky": {
                        "failures": 1,
                        "mode": "edge",
                        "_retry": {"maxAttempts": 2, "delaySeconds": 0},
                        "success?": {"$.done": True},
                    }
                }
            ]
        ),
    )
    assert result.final_state["attempts"] == 2
    assert result.final_state["done"] is True
    assert result.warnings == ()


def test_retry_exhausted_then_error_edge(reg: NodeRegistry) -> None:
    result = go(
        reg,
        doc(
            [
                {
                    "flaky": {
                        "failures": 5,
                        "_retry": {"maxAttempts": 4, "delaySeconds": 0},
                        "error?": {"$.err": "$._edgeContext.error"},
                    }
                }
            ]
        ),
    )
    assert result.status == "completed"
    assert result.final_state["attempts"] == 4
    assert result.final_state["err"] == "failure 4"


def test_without_retry_one_attempt(reg: NodeRegistry) -> None:
    result = go(reg, doc([{"flaky": {"failures": 1, "error?": None}}]))
    assert result.final_state["attempts"] == 1


def test_retry_waits_between_attempts(reg: NodeRegistry) -> None:
    started = time.perf_counter()
    result = go(
        reg,
        doc(
            [
                {
                    "flaky": {
                        "failures": 2,
                        "_retry": {"maxAttempts": 3, "delaySeconds": 0.05, "backoff": 2},
                    }
                }
            ]
        ),
    )
    elapsed = time.perf_counter() - started
    assert result.final_state["attempts"] == 3
    assert 0.15 <= elapsed < 1.5  # 0.05 + 0.10


# -- timeline -----------------------------------------------------------------------------------


def test_timeline_entries(run: Any) -> None:
    result = run(doc([{"log": {"message": "a"}}, "empty"]))
    first, second = result.timeline
    assert (first.path, first.type, first.edge, first.error) == (
        "/workflow/0/log",
        "log",
        "success",
        None,
    )
    assert (second.path, second.type, second.edge) == ("/workflow/1", "empty", "nothing")
    assert first.duration_ms >= 0
    assert abs(first.started_at - time.time()) < 5
    assert result.timeline_dropped == 0


def test_timeline_limit_caps_and_reports_dropped(run: Any) -> None:
    steps = [{"$.a": i} for i in range(5)]
    result = run(doc(steps), timeline_limit=2)
    assert [e.path for e in result.timeline] == ["/workflow/3/$.a", "/workflow/4/$.a"]
    assert result.timeline_dropped == 3
    assert result.node_runs == 5
    assert result.to_dict()["timelineDropped"] == 3


def test_timeline_off(run: Any) -> None:
    result = run(doc(["empty", "empty"]), timeline_limit=0)
    assert result.timeline == ()
    assert result.timeline_dropped == 2
    assert "timeline" not in result.to_dict(timeline=False)


def test_timeline_not_dropped_when_run_ends_early(run: Any) -> None:
    # timeline_dropped counts what the cap dropped; nothing was dropped here
    result = run(doc([{"log": {"message": "x"}}, {"end": {"status": "completed"}}]))
    assert result.status == "completed"
    assert result.timeline_dropped == 0


def test_timeline_records_the_failing_node(reg: NodeRegistry) -> None:
    # §5: the timeline lists node executions with their error, the failing one included
    result = go(reg, doc(["empty", "boom"]))
    assert result.status == "failed"
    assert [e.path for e in result.timeline] == ["/workflow/0", "/workflow/1"]
    assert result.timeline[-1].error == "kaboom"
    assert result.timeline_dropped == 0


# -- state: copies and merges -------------------------------------------------------------------


def test_copy_json_is_deep_and_independent() -> None:
    original = {"a": {"b": [1, {"c": 2}]}, "s": "x"}
    copy = copy_json(original)
    assert copy == original
    copy["a"]["b"][1]["c"] = 99
    copy["a"]["b"].append(3)
    assert original == {"a": {"b": [1, {"c": 2}]}, "s": "x"}
    assert copy_json(5) == 5 and copy_json(None) is None


def test_caller_state_not_mutated(run: Any) -> None:
    state = {"a": {"b": 1}, "items": [1]}
    result = run(doc([{"$.a.b": 2}, {"$.items[1]": 2}]), state)
    assert result.final_state["a"] == {"b": 2}
    assert result.final_state["items"] == [1, 2]
    assert state == {"a": {"b": 1}, "items": [1]}


def test_workflow_initial_state_not_mutated_between_runs(registry: NodeRegistry) -> None:
    workflow = load_workflow(
        doc(
            [{"$.cfg.count": "$.n"}, {"$.list[1]": "$.n"}],
            initialState={"cfg": {"count": 0}, "list": [0]},
        ),
        registry,
    )
    first = asyncio.run(run_workflow(workflow, registry, {"n": 1}))
    second = asyncio.run(run_workflow(workflow, registry, {"n": 2}))
    assert first.final_state["cfg"] == {"count": 1}
    assert second.final_state["cfg"] == {"count": 2}
    assert second.final_state["list"] == [0, 2]
    assert workflow.initial_state == {"cfg": {"count": 0}, "list": [0]}


def test_initial_state_merge_caller_wins(run: Any) -> None:
    result = run(doc(["empty"], initialState={"a": 1, "b": "doc"}), {"b": "caller", "c": 3})
    assert {k: result.final_state[k] for k in ("a", "b", "c")} == {"a": 1, "b": "caller", "c": 3}


def test_run_does_not_mutate_the_document(run: Any) -> None:
    # a literal object stored by a setter must not be the document's own object
    document = doc([{"$.cfg": {"value": {"count": 0}}}, {"$.cfg.count": 5}])
    result = run(document)
    assert result.final_state["cfg"] == {"count": 5}
    assert document["workflow"][0] == {"$.cfg": {"value": {"count": 0}}}


def test_runs_do_not_share_state_objects(registry: NodeRegistry) -> None:
    workflow = load_workflow(
        doc([{"$.cfg": {"value": {"count": 0}}}, {"$.cfg.count": "$.n"}]), registry
    )
    first = asyncio.run(run_workflow(workflow, registry, {"n": 5}))
    second = asyncio.run(run_workflow(workflow, registry, {"n": 7}))
    assert second.final_state["cfg"] == {"count": 7}
    assert first.final_state["cfg"] == {"count": 5}


# -- memory and inputs --------------------------------------------------------------------------


def test_loop_node_memory_resets_on_reentry(reg: NodeRegistry) -> None:
    result = go(
        reg,
        doc([{"range...": {"stop": 2, "current_step?": [{"counter...": {"again?": ["empty"]}}]}}]),
    )
    assert result.status == "completed"
    assert result.final_state["visits"] == [1, 2, 3, 1, 2, 3]


def test_body_node_memory_resets_on_reentry(reg: NodeRegistry) -> None:
    result = go(
        reg,
        doc(
            [
                {
                    "range...": {
                        "stop": 2,
                        "valueKey": "o",
                        "indexKey": "oi",
                        "current_step?": [{"range...": {"stop": 2, "current_step?": ["tally"]}}],
                    }
                }
            ]
        ),
    )
    assert result.final_state["tally"] == [1, 2, 1, 2]


def test_memory_persists_outside_loops(reg: NodeRegistry) -> None:
    result = go(reg, doc(["tally", "tally"]))
    assert result.final_state["tally"] == [1, 1]  # memory is per node path


def test_inputs_overlay_edge_data_wins(reg: NodeRegistry) -> None:
    result = go(
        reg,
        doc([{"math": {"operation": "add", "values": [1, 2], "success?": "peek"}}]),
        {"result": "from state", "other": "kept"},
    )
    (seen,) = result.final_state["peeks"]
    assert seen["result"] == 3
    assert seen["other"] == "kept"
    assert result.final_state["result"] == "from state"
    assert "written" not in result.final_state


def test_inputs_without_edge_data_is_read_only_state(reg: NodeRegistry) -> None:
    result = go(reg, doc(["peek"]), {"result": "from state", "other": 1})
    (seen,) = result.final_state["peeks"]
    assert seen == {"result": "from state", "other": 1, "writable": False, "proxy": True}
    assert "written" not in result.final_state


def test_node_context_inputs_direct() -> None:
    state = {"a": 1, "b": 2}
    ctx = NodeContext(state, node_id="n", node_type="n", node_path="/p", edge_data={"b": 3})
    assert dict(ctx.inputs) == {"a": 1, "b": 3}
    assert state == {"a": 1, "b": 2}
    plain = NodeContext(state, node_id="n", node_type="n", node_path="/p")
    state["c"] = 4
    assert plain.inputs["c"] == 4  # a live view, not a copy
    with pytest.raises(TypeError):
        plain.inputs["d"] = 1  # type: ignore[index]


def test_node_context_memory_per_path() -> None:
    store: dict[str, dict[str, Any]] = {}
    a = NodeContext({}, node_id="a", node_type="t", node_path="/a", memory_store=store)
    b = NodeContext({}, node_id="b", node_type="t", node_path="/b", memory_store=store)
    a.memory["x"] = 1
    assert b.memory == {}
    assert store == {"/a": {"x": 1}, "/b": {}}


def test_on_log_listener(run: Any) -> None:
    lines: list[str] = []
    result = run(
        doc([{"log": {"message": "one"}}, {"log": {"message": "two {{$.n}}"}}]),
        {"n": 2},
        on_log=lines.append,
    )
    assert lines == ["one", "two 2"]
    assert result.logs == ("one", "two 2")


def test_a_setter_copies_objects_it_reads_from_the_state(run) -> None:
    result = run(
        {
            "id": "copy",
            "name": "copy",
            "version": "1.0.0",
            "initialState": {"a": {"x": 1}},
            "workflow": [{"$.b": "$.a"}, {"$.a.x": 2}],
        }
    )
    assert result.final_state["a"] == {"x": 2}
    assert result.final_state["b"] == {"x": 1}


def test_run_result_repr_stays_short_for_a_big_state(run) -> None:
    rows = [{"id": i, "name": f"row {i}"} for i in range(5000)]
    result = run(
        {"id": "big", "name": "big", "version": "1.0.0", "workflow": ["empty"]}, {"rows": rows}
    )
    text = repr(result)
    assert len(text) < 200
    assert "status='completed'" in text and "state_keys=1" in text


def test_an_initial_state_handed_over_is_used_without_a_copy(registry) -> None:
    from workscript_jupyter.engine import Execution, load_workflow

    document = {
        "id": "own",
        "name": "own",
        "version": "1.0.0",
        "initialState": {"fixed": {"n": 1}},
        "workflow": [{"$.rows[0].seen": True}, {"$.fixed.n": 2}],
    }
    workflow = load_workflow(document, registry)
    mine = {"rows": [{"id": 1}]}
    result = asyncio.run(
        Execution(workflow, registry, initial_state=mine, copy_initial_state=False).run()
    )
    assert result.final_state["rows"] is mine["rows"]  # handed over: no copy made
    assert mine["rows"][0]["seen"] is True
    assert document["initialState"] == {"fixed": {"n": 1}}  # the workflow's own is still copied


def test_cancel_before_the_run_starts_ends_it_at_once(registry: NodeRegistry) -> None:
    workflow = load_workflow(doc([{"$.a": 1}, {"wait": {"seconds": 5}}]), registry)

    async def main() -> tuple[bool, RunResult]:
        execution = Execution(workflow, registry)
        asked = execution.cancel()  # e.g. a handle cancelled right after start()
        return asked, await execution.run()

    asked, result = asyncio.run(main())
    assert asked is True
    assert result.status == "cancelled"
    assert result.node_runs == 0
    assert "a" not in result.final_state
