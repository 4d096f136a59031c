"""Run limits (issue 13, items 2 and 5): the state's size, and the number of steps.

No timing assertions: a run that doubles a string or a list 40 times must *end* failed with
STATE_TOO_LARGE, after a handful of doublings, with a state that stays within the limit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.engine import (
    Edge,
    EngineLimits,
    Execution,
    Node,
    NodeContext,
    NodeMetadata,
    RunResult,
    parse_workflow,
    validate_workflow,
)
from workscript_jupyter.engine.limits import MB, format_mb
from workscript_jupyter.engine.parse import count_steps
from workscript_jupyter.engine.state_size import REMOVED, RunState, StateBudget, measure
from workscript_jupyter.errors import ConfigurationError, WorkflowValidationError
from workscript_jupyter.nodes import builtin_registry

REGISTRY = builtin_registry(plugins=False)
SMALL = EngineLimits(max_state_bytes=100_000)


def doc(steps: list[Any], state: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "limits",
        "name": "limits",
        "version": "1.0.0",
        "initialState": state or {},
        "workflow": steps,
    }


def doubling(body: Any, start: Any, times: int = 40) -> dict[str, Any]:
    return doc([{"range...": {"stop": times, "current_step?": [body]}}], {"s": start})


def run(
    document: dict[str, Any], limits: EngineLimits | None = None, registry: Any = None
) -> RunResult:
    registry = registry or REGISTRY
    workflow = parse_workflow(document, registry)
    options: dict[str, Any] = {} if limits is None else {"limits": limits}
    return asyncio.run(Execution(workflow, registry, **options).run())


# -- the state's size ------------------------------------------------------------------------------


def test_a_doubling_string_fails_the_run_with_the_limit_named() -> None:
    result = run(doubling({"$.s": "{{$.s}}{{$.s}}"}, "x"))  # the default limit: 64 MB
    assert result.status == "failed"
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    message = result.error.message
    assert "64 MB" in message and "max_state_mb" in message
    assert "$.s" in message and result.error.node_path.endswith("/$.s")
    assert result.node_runs < 2 * 30  # 26 doublings reach 64 MB: it stopped there, not at 40
    assert len(result.final_state["s"]) <= 64 * MB  # what is kept stays within the limit


def test_a_template_over_the_limit_is_refused_before_it_is_built() -> None:
    result = run(doc([{"$.t": "{{$.s}}{{$.s}}"}], {"s": "y" * 60_000}), SMALL)
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    assert "template" in result.error.message and "0.09537 MB" in result.error.message
    assert "t" not in result.final_state  # never written


def test_an_object_placed_many_times_is_written_once_and_stops_at_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """{{$.o}} two hundred times: the object is turned into text once (not once a placement),
    and the text stops growing as soon as it passes the limit (not once it is whole)."""
    from workscript_jupyter.engine import state as state_module

    written: list[int] = []
    real = state_module.to_text

    def counted(value: Any) -> str:
        text = real(value)
        if isinstance(value, dict):
            written.append(len(text))
        return text

    monkeypatch.setattr(state_module, "to_text", counted)
    big = {"rows": ["z" * 100] * 100}  # about 10 KB of text
    result = run(doc([{"$.t": "{{$.o}}," * 200}], {"o": big}), SMALL)
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    assert "t" not in result.final_state
    assert len(written) == 1, written


def test_a_doubling_list_fails_and_its_copy_is_never_made() -> None:
    result = run(doubling({"$.s": ["$.s", "$.s"]}, ["x"]), SMALL)
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    assert "$.s" in result.error.message
    # refused by the setter before the copy: the state keeps the last list that fitted
    assert isinstance(result.final_state["s"], list)
    assert measure(result.final_state["s"], SMALL.max_state_bytes) <= SMALL.max_state_bytes


def test_a_node_writing_too_much_fails_and_its_value_is_not_kept() -> None:
    steps = [{"transform": {"operation": "uppercase", "data": "$.s"}}]
    result = run(doc(steps, {"s": "z" * 200_000}), SMALL)
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    assert "node 'transform'" in result.error.message
    assert "$.transformResult" in result.error.message
    assert result.final_state["transformResult"] == REMOVED
    assert "_edgeContext" not in result.final_state


class BigOutput(Node):
    metadata = NodeMetadata(id="bigOutput", name="big output", description="test")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        return Edge("success", {"items": ["w" * 1000 for _ in range(500)]})


def test_a_node_output_over_the_limit_fails_the_run() -> None:
    registry = builtin_registry(plugins=False)
    registry.register(BigOutput)
    result = run(doc(["bigOutput"]), SMALL, registry)
    assert result.error is not None and result.error.code == "STATE_TOO_LARGE"
    assert "the output of node 'bigOutput'" in result.error.message


def test_an_error_edge_does_not_catch_the_state_limit() -> None:
    body = {"$.s": {"value": "{{$.s}}{{$.s}}", "error?": None}}
    result = run(doubling(body, "x"), SMALL)
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "STATE_TOO_LARGE"


def test_a_normal_run_is_unaffected() -> None:
    steps = [
        {
            "range...": {
                "stop": 200,
                "current_step?": [
                    {"math": {"operation": "add", "values": ["$.total", "$.rangeValue"]}},
                    {"$.total": "$.mathResult"},
                    {"$.rows": [{"n": "$.total"}, {"n": "$.rangeIndex"}]},
                    {"log": {"message": "step {{$.rangeIndex}}: {{$.total}}"}},
                ],
            }
        }
    ]
    result = run(doc(steps, {"total": 0}), EngineLimits(max_state_bytes=50_000))
    assert result.status == "completed", result.error
    assert result.final_state["total"] == sum(range(200))
    assert type(result.final_state) is dict  # a plain dict, not the run's RunState


def test_the_state_counts_replaced_keys_once() -> None:
    state = RunState()
    budget = StateBudget(10_000)
    step = parse_workflow(doc([{"$.a": 1}]), REGISTRY).steps[0]
    for _ in range(100):  # 100 writes of 5 KB under one key: 5 KB, not 500 KB
        state["a"] = "q" * 5_000
        budget.settle(state, step)
    assert 5_000 < budget.total < 6_000
    del state["a"]
    budget.settle(state, step)
    assert budget.total == 0


def test_measure_stops_at_the_budget_and_counts_shared_values_once() -> None:
    row = {"id": 1, "name": "x" * 100}
    shared: Any = [row]
    for _ in range(60):  # 2**60 rows in JSON; a walk of 60 lists with the memo
        shared = [shared, shared]
    assert measure(shared, 10**6) > 10**6
    assert measure("a" * 1000, 10) == 1000 + 50
    assert measure(list(range(100)), 1) > 1  # stops early, still says "over"


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="max_state_mb"):
        EngineLimits.of(max_state_mb=0)
    with pytest.raises(ConfigurationError, match="max_steps"):
        EngineLimits(max_steps=0)
    assert EngineLimits.of(max_state_mb=0.5).max_state_bytes == MB // 2
    assert format_mb(64 * MB) == "64 MB"


# -- the number of steps ---------------------------------------------------------------------------


def test_a_workflow_over_the_step_limit_is_refused_with_the_limit() -> None:
    document = doc(["empty"] * 10_001)
    with pytest.raises(WorkflowValidationError) as caught:
        parse_workflow(document, REGISTRY)
    (issue,) = caught.value.issues
    assert issue.code == "TOO_MANY_STEPS" and issue.path == "/workflow"
    assert "10,000" in issue.message and "max_workflow_steps" in issue.message
    assert validate_workflow(doc(["empty"] * 10_000), REGISTRY) == []


def test_nested_steps_count_and_the_limit_is_configurable() -> None:
    nested = {"logic": {"operation": "and", "values": [True], "true?": ["empty", "empty"]}}
    document = doc([nested] * 4)  # 4 + 8 = 12 steps
    limits = EngineLimits(max_steps=11)
    issues = validate_workflow(document, REGISTRY, limits=limits)
    assert [i.code for i in issues] == ["TOO_MANY_STEPS"]
    assert validate_workflow(document, REGISTRY, limits=EngineLimits(max_steps=12)) == []


def test_counting_stops_past_the_limit() -> None:
    assert count_steps(["empty"] * 100_000, 10) == 11
    assert count_steps("not a list", 10) == 0
