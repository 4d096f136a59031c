"""Golden cases for the workflow language (WORKFLOW-LANGUAGE.md §1-5).

Every file in ``tests/workflows/`` (``*.json``, ``*.yaml``, ``*.yml``) is one case::

    {"description": "...the rule, citing the spec section...",
     "workflow": {...a full workflow document...},
     "initialState": {...},                      # optional: the caller's state
     "expect": {...}}

``expect`` keys (anything else is an error, see ``test_expect_keys_are_known``):

- ``status``: exact.
- ``finalState``: exact, after dropping the keys that start with ``_`` (bookkeeping).
- ``bookkeeping``: subset match on the ``_`` keys of the final state.
- ``error``: subset match on ``result.to_dict()["error"]``.
- ``nodeRuns``: exact.
- ``logs``: exact list of the log node's messages (``result.logs``).
- ``warnings``: same length, each item a subset match.
- ``timelineTypes``: exact list of the node types in the timeline.
- ``validationErrors``: the exact multiset of ``{path, code}`` from ``validate_workflow`` (order
  ignored). A case with it is an invalid workflow: nothing runs and no other key is allowed.

In every expected value the string ``"*"`` matches any value that is present (for timestamps and
error messages the spec does not fix). A runnable case must also validate without issues.

The cases were written by hand from the spec. Rules that need a node reading ``ctx.inputs`` or
counting its own calls (none of the core nodes does) are plain Python tests at the end of this file.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from workscript_jupyter.engine import (
    Edge,
    Execution,
    Node,
    NodeContext,
    NodeMetadata,
    NodeRegistry,
    RunResult,
    load_workflow,
    run_workflow,
    validate_workflow,
)
from workscript_jupyter.errors import WorkflowValidationError
from workscript_jupyter.nodes import builtin_registry

CASE_DIR = Path(__file__).parent / "workflows"
CASE_FILES = sorted(
    p for p in CASE_DIR.iterdir() if p.is_file() and p.suffix in (".json", ".yaml", ".yml")
)
CASE_KEYS = {"description", "workflow", "initialState", "expect"}
EXPECT_KEYS = {
    "status",
    "finalState",
    "bookkeeping",
    "error",
    "nodeRuns",
    "logs",
    "warnings",
    "timelineTypes",
    "validationErrors",
}
RUN_STATUSES = {"completed", "failed", "timed_out", "cancelled"}
ANY = "*"

REGISTRY = builtin_registry(plugins=False)


def load_case(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    case = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(case, dict), f"{path.name}: a case file holds one object"
    return case


def _shape(actual: Any, expected: Any, *, subset: bool) -> Any:
    """``actual`` reshaped like ``expected`` so that ``==`` gives a focused pytest diff.

    ``"*"`` in ``expected`` accepts any present value; with ``subset`` only the keys that
    ``expected`` names are kept from dicts.
    """
    if expected == ANY and not isinstance(actual, _Absent):
        return ANY
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = expected.keys() if subset else expected.keys() | actual.keys()
        return {
            k: _shape(actual.get(k, _ABSENT), expected.get(k, _ABSENT), subset=subset)
            for k in keys
            if not (subset and k not in expected)
        }
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [_shape(a, e, subset=subset) for a, e in zip(actual, expected, strict=True)]
    return actual


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Absent)

    def __hash__(self) -> int:
        return 0


_ABSENT = _Absent()


def _run(document: Any, state: dict[str, Any] | None, registry: NodeRegistry) -> RunResult:
    workflow = load_workflow(document, registry)
    return asyncio.run(run_workflow(workflow, registry, state))


def _check_validation(case: dict[str, Any]) -> None:
    expect = case["expect"]
    issues = validate_workflow(case["workflow"], REGISTRY)
    key = lambda i: (i["path"], i["code"])  # noqa: E731
    actual = sorted(({"path": i.path, "code": i.code} for i in issues), key=key)
    expected = sorted(expect["validationErrors"], key=key)
    messages = "\n".join(str(i) for i in issues)
    assert actual == expected, f"validate_workflow reported:\n{messages or '(nothing)'}"
    with pytest.raises(WorkflowValidationError):  # the stored (JSON text) form is refused too
        load_workflow(json.dumps(case["workflow"]), REGISTRY)


def _check_run(case: dict[str, Any]) -> None:
    expect = case["expect"]
    document = case["workflow"]
    issues = validate_workflow(document, REGISTRY)
    assert not issues, "the workflow should be valid:\n" + "\n".join(str(i) for i in issues)

    started = time.perf_counter()
    result = _run(document, case.get("initialState"), REGISTRY)
    elapsed = time.perf_counter() - started
    if result.status == "timed_out":
        limit = float(document["timeoutSeconds"])
        assert elapsed < limit + 1.5, f"timed out after {elapsed:.2f} s, limit {limit} s"

    out = result.to_dict()
    state = out["finalState"]
    actual: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for name, want in expect.items():
        if name == "status":
            got: Any = out["status"]
        elif name == "finalState":
            got = _shape(
                {k: v for k, v in state.items() if not k.startswith("_")}, want, subset=False
            )
        elif name == "bookkeeping":
            got = _shape({k: v for k, v in state.items() if k.startswith("_")}, want, subset=True)
        elif name == "error":
            got = _shape(out["error"], want, subset=True)
        elif name == "nodeRuns":
            got = out["nodeRuns"]
        elif name == "logs":
            got = list(result.logs)
        elif name == "warnings":
            got = _shape(out["warnings"], want, subset=True)
        elif name == "timelineTypes":
            got = [entry.type for entry in result.timeline]
        else:  # pragma: no cover - test_expect_keys_are_known reports it
            pytest.fail(f"unknown expect key {name!r}")
        actual[name], expected[name] = got, want
    context = (
        f"status={out['status']} error={json.dumps(out['error'])}\n"
        f"finalState={json.dumps(state, default=str)}\n"
        f"timeline={[(e.path, e.type, e.edge) for e in result.timeline]}"
    )
    assert actual == expected, context


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_golden(path: Path) -> None:
    case = load_case(path)
    if "validationErrors" in case["expect"]:
        _check_validation(case)
    else:
        _check_run(case)


# -- the case files themselves ------------------------------------------------------------------


def test_there_are_cases() -> None:
    assert len(CASE_FILES) >= 40
    stems = [p.stem for p in CASE_FILES]
    assert len(stems) == len(set(stems)), "two case files share a name"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_expect_keys_are_known(path: Path) -> None:
    case = load_case(path)
    assert set(case) <= CASE_KEYS, f"unknown case keys: {sorted(set(case) - CASE_KEYS)}"
    assert "workflow" in case and "expect" in case
    expect = case["expect"]
    assert isinstance(expect, dict) and expect, "expect must be a non-empty object"
    unknown = set(expect) - EXPECT_KEYS
    assert not unknown, f"unknown expect keys (typo?): {sorted(unknown)}"
    if "validationErrors" in expect:
        assert set(expect) == {"validationErrors"}, "an invalid workflow expects nothing else"
        assert expect["validationErrors"], "validationErrors lists at least one issue"
        for item in expect["validationErrors"]:
            assert set(item) == {"path", "code"}, item
    else:
        assert expect.get("status") in RUN_STATUSES, "a runnable case states its status"
        assert "finalState" in expect, "a runnable case states its finalState"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_case_has_description(path: Path) -> None:
    description = load_case(path).get("description")
    assert isinstance(description, str) and description.strip(), "missing description"
    assert "§" in description, "the description cites the spec section (§n)"


# -- rules that need a custom node ---------------------------------------------------------------


class EmitX(Node):
    """Takes ``success`` with edge data ``{"x": "edge"}``."""

    metadata = NodeMetadata(id="emit-x", name="Emit x", description="test", edges=("success",))

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        return Edge("success", {"x": "edge"})


class ReadInputs(Node):
    """Copies ``inputs.x`` and ``inputs.y`` into the state."""

    metadata = NodeMetadata(id="read-inputs", name="Read inputs", description="test")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> None:
        ctx.state["seenX"] = ctx.inputs.get("x", "<absent>")
        ctx.state["seenY"] = ctx.inputs.get("y", "<absent>")


class Flaky(Node):
    """Raises on its first ``fail_times`` calls, then takes ``success``."""

    metadata = NodeMetadata(
        id="flaky", name="Flaky", description="test", edges=("success", "error")
    )
    calls: ClassVar[int] = 0
    fail_times: ClassVar[int] = 1

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        type(self).calls += 1
        if type(self).calls <= type(self).fail_times:
            raise RuntimeError(f"attempt {type(self).calls} failed")
        return Edge("success", {"attempts": type(self).calls})


class AlwaysErrorEdge(Node):
    """Returns the ``error`` edge every time and counts its calls."""

    metadata = NodeMetadata(
        id="always-error", name="Always error", description="test", edges=("error",)
    )
    calls: ClassVar[int] = 0

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        type(self).calls += 1
        return Edge("error", {"error": "nope"})


@pytest.fixture
def custom_registry() -> NodeRegistry:
    registry = builtin_registry(plugins=False)
    for node in (EmitX, ReadInputs, Flaky, AlwaysErrorEdge):
        registry.register(node)
    Flaky.calls, Flaky.fail_times, AlwaysErrorEdge.calls = 0, 1, 0
    return registry


def _doc(steps: list[Any], **extra: Any) -> dict[str, Any]:
    return {"id": "py-case", "name": "py case", "version": "1.0.0", **extra, "workflow": steps}


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([{"emit-x": {"success?": {"read-inputs": {}}}}], id="inline-target"),
        pytest.param([{"emit-x": {"success?": ["read-inputs"]}}], id="sequence-target"),
        pytest.param([{"emit-x": {"success?": "read-inputs"}}], id="registry-string-target"),
        pytest.param(["emit-x", "read-inputs"], id="next-top-level-step"),
    ],
)
def test_edge_data_wins_over_state(custom_registry: NodeRegistry, steps: list[Any]) -> None:
    """§3 (fix): inputs = state overlaid with the data of the edge that led here; edge data wins."""
    result = _run(_doc(steps), {"x": "state", "y": "state-y"}, custom_registry)
    assert result.status == "completed", result.error
    assert result.final_state["seenX"] == "edge"
    assert result.final_state["seenY"] == "state-y"  # the rest of the state is still visible
    assert result.final_state["x"] == "state"  # the edge data does not overwrite the state


def test_inputs_without_edge_data_are_the_state(custom_registry: NodeRegistry) -> None:
    """§3: with no edge leading to it, a node's inputs are the state itself."""
    result = _run(_doc(["read-inputs"]), {"x": "state"}, custom_registry)
    assert result.status == "completed", result.error
    assert result.final_state["seenX"] == "state"
    assert result.final_state["seenY"] == "<absent>"


def test_retry_until_success(custom_registry: NodeRegistry) -> None:
    """§2 (new): _retry re-runs a node that raises; the attempt that succeeds decides the edge."""
    steps = [
        {
            "flaky": {
                "_retry": {"maxAttempts": 3, "delaySeconds": 0},
                "success?": {"$.ok": True},
                "error?": {"$.failed": True},
            }
        }
    ]
    result = _run(_doc(steps), None, custom_registry)
    assert result.status == "completed", result.error
    assert Flaky.calls == 2
    assert result.final_state.get("ok") is True
    assert "failed" not in result.final_state


def test_retry_gives_up_after_max_attempts(custom_registry: NodeRegistry) -> None:
    """§2 (new): a node that always raises is called maxAttempts times, then fails the run."""
    Flaky.fail_times = 99
    steps = [{"flaky": {"_retry": {"maxAttempts": 3, "delaySeconds": 0, "backoff": 1}}}]
    result = _run(_doc(steps), None, custom_registry)
    assert Flaky.calls == 3
    assert result.status == "failed"
    assert result.error is not None and result.error.node_path == "/workflow/0/flaky"


def test_retry_on_error_edge(custom_registry: NodeRegistry) -> None:
    """§2 (new): a node that returns error every time is called maxAttempts times, then error?."""
    steps = [
        {
            "always-error": {
                "_retry": {"maxAttempts": 2, "delaySeconds": 0},
                "error?": {"$.gaveUp": True},
            }
        }
    ]
    result = _run(_doc(steps), None, custom_registry)
    assert AlwaysErrorEdge.calls == 2
    assert result.status == "completed", result.error
    assert result.final_state["gaveUp"] is True


def test_retry_without_policy_runs_once(custom_registry: NodeRegistry) -> None:
    """§2: without _retry a node runs once, even when it takes error."""
    result = _run(_doc([{"always-error": {"error?": None}}]), None, custom_registry)
    assert AlwaysErrorEdge.calls == 1
    assert result.status == "completed"


# -- §5 the run result and its events -------------------------------------------------------------


def test_result_fields_and_timeline() -> None:
    """§5: the result carries its ids, status, times, counts, warnings and a timeline."""
    steps = [
        {"math": {"operation": "add", "values": [1, 2]}},
        {"math": {"operation": "power", "values": [1]}},
    ]
    result = _run(_doc(steps), None, REGISTRY)
    out = result.to_dict()
    for key in (
        "executionId",
        "workflowId",
        "status",
        "finalState",
        "error",
        "startedAt",
        "endedAt",
        "durationMs",
        "nodeRuns",
        "warnings",
        "timeline",
    ):
        assert key in out, key
    assert out["workflowId"] == "py-case"
    assert out["executionId"]
    assert out["status"] == "completed" and out["error"] is None
    assert out["nodeRuns"] == 2 and out["durationMs"] >= 0
    assert [w["nodePath"] for w in out["warnings"]] == ["/workflow/1/math"]
    entries = out["timeline"]
    assert [(e["path"], e["type"], e["edge"]) for e in entries] == [
        ("/workflow/0/math", "math", "success"),
        ("/workflow/1/math", "math", "error"),
    ]
    for entry in entries:
        assert {"path", "type", "edge", "startedAt", "durationMs", "error"} <= set(entry)
    assert entries[0]["error"] is None and entries[1]["error"]


def test_timeline_is_capped_by_configuration() -> None:
    """§5: the timeline is capped by configuration; nodeRuns still counts every run."""
    workflow = load_workflow(_doc(["empty"] * 5), REGISTRY)
    result = asyncio.run(run_workflow(workflow, REGISTRY, None, timeline_limit=3))
    assert result.node_runs == 5
    assert len(result.timeline) == 3


def test_events_of_a_run() -> None:
    """§5: workflow/node events in order, all carrying executionId and workflowId."""
    events: list[Any] = []
    steps = [{"$.a": 1}, {"transform": {"operation": "parse", "data": "{bad"}}]
    workflow = load_workflow(_doc(steps), REGISTRY)
    result = asyncio.run(run_workflow(workflow, REGISTRY, None, on_event=events.append))
    assert [e.type for e in events] == [
        "workflow:started",
        "node:started",
        "node:completed",
        "node:started",
        "node:failed",
        "workflow:failed",
    ]
    assert {e.execution_id for e in events} == {result.execution_id}
    assert {e.workflow_id for e in events} == {"py-case"}
    completed = events[2].payload
    assert completed["edge"] == "success" and "durationMs" in completed


def test_events_of_a_completed_run() -> None:
    events: list[Any] = []
    workflow = load_workflow(_doc(["empty"]), REGISTRY)
    asyncio.run(run_workflow(workflow, REGISTRY, None, on_event=events.append))
    assert [e.type for e in events] == [
        "workflow:started",
        "node:started",
        "node:completed",
        "workflow:completed",
    ]


def test_cancelled_run() -> None:
    """§5: a cancelled run ends with status cancelled and keeps its state."""
    workflow = load_workflow(_doc([{"$.a": 1}, {"wait": {"seconds": 5}}, {"$.b": 2}]), REGISTRY)

    async def scenario() -> RunResult:
        execution = Execution(workflow, REGISTRY)
        task = asyncio.create_task(execution.run())
        await asyncio.sleep(0.05)
        assert execution.cancel()
        return await task

    started = time.perf_counter()
    result = asyncio.run(scenario())
    assert time.perf_counter() - started < 2
    assert result.status == "cancelled"
    assert {k: v for k, v in result.final_state.items() if not k.startswith("_")} == {"a": 1}


def test_yaml_text_is_accepted() -> None:
    """§1: YAML with the same structure is accepted where a workflow is typed by hand."""
    text = (
        "id: yaml-text\nname: YAML text\nversion: 1.0.0\n"
        "workflow:\n  - $.greeting: hello\n  - log: {message: '{{$.greeting}} there'}\n"
    )
    workflow = load_workflow(text, REGISTRY)
    result = asyncio.run(run_workflow(workflow, REGISTRY))
    assert result.status == "completed", result.error
    assert result.logs == ("hello there",)


def test_state_is_one_object_per_run() -> None:
    """§3/§4: each run starts from its own copy of the state; iterators start afresh per run."""
    document = _doc(
        [
            {"range...": {"stop": 2, "current_step?": {"$.seen": "$.rangeValue"}}},
            {"$.box.inner": "$.seen"},
        ],
        initialState={"box": {"kept": True}},
    )
    caller = {"extra": [1]}
    workflow = load_workflow(document, REGISTRY)
    first = asyncio.run(run_workflow(workflow, REGISTRY, caller))
    second = asyncio.run(run_workflow(workflow, REGISTRY, caller))
    strip = lambda s: {k: v for k, v in s.items() if not k.startswith("_")}  # noqa: E731
    assert strip(first.final_state) == strip(second.final_state)
    assert first.final_state["box"] == {"kept": True, "inner": 1}
    assert document["initialState"] == {"box": {"kept": True}}  # the document is not mutated
    assert caller == {"extra": [1]}  # nor is the caller's state
