"""The state's size when nodes put rows they did not build in lists of their own (issue 14).

The rows of the initial state's long lists are counted at an estimate (``InitialRows``) instead
of walked, and rows already measured in a settle are summed without a walk. Both must still
count every row each time it appears: the limit holds, and a run that goes past it fails.
"""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.engine import EngineLimits, Execution, load_workflow
from workscript_jupyter.engine.state_size import RunState, StateBudget, measure
from workscript_jupyter.nodes import builtin_registry

REGISTRY = builtin_registry(plugins=False)
BIG = 10**9


def rows(count: int, width: int = 100) -> list[dict[str, Any]]:
    return [{"id": i, "name": "x" * (width + i % 50), "ok": i % 2 == 0} for i in range(count)]


def settled(state: RunState, budget: StateBudget, **writes: Any) -> int:
    step = load_workflow(
        {"id": "s", "name": "s", "version": "1.0.0", "workflow": [{"$.a": 1}]}, REGISTRY
    ).steps[0]
    for key, value in writes.items():
        state[key] = value
    budget.settle(state, step)
    return budget.total


def test_initial_rows_in_a_new_list_count_about_their_size() -> None:
    state = RunState({"rows": rows(1_000)})
    budget = StateBudget(BIG, initial=state)
    copy = list(state["rows"])  # a filter's passed rows: the same row objects
    exact = measure(copy, BIG)
    total = settled(state, budget, passed=copy)
    assert abs(total - exact) / exact < 0.05
    # every time they appear: a second list of them counts again
    assert abs(settled(state, budget, again=list(copy)) - 2 * exact) / exact < 0.1


def test_initial_rows_grown_in_place_are_seen_when_a_list_of_them_is_written_again() -> None:
    state = RunState({"rows": rows(500)})
    budget = StateBudget(BIG, initial=state)
    before = settled(state, budget, passed=list(state["rows"]))
    for row in state["rows"]:
        row["name"] = "y" * 2_000  # in place: the run's estimate of them is sampled again
    after = settled(state, budget, passed=list(state["rows"]))
    assert after > before + 500 * 1_800


def test_a_filter_over_initial_rows_past_the_limit_fails_the_run() -> None:
    document = {
        "id": "f",
        "name": "f",
        "version": "1.0.0",
        "workflow": [
            {
                "filter": {
                    "items": "$.rows",
                    "conditions": [
                        {"field": "id", "dataType": "number", "operation": "gte", "value": 0}
                    ],
                }
            }
        ],
    }
    workflow = load_workflow(document, REGISTRY)
    given = {"rows": rows(1_000)}  # about 300 KB of rows, not counted as given
    limits = EngineLimits(max_state_bytes=200_000)
    result = asyncio.run(Execution(workflow, REGISTRY, initial_state=given, limits=limits).run())
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "STATE_TOO_LARGE"
    assert "node 'filter'" in result.error.message and "$.filterPassed" in result.error.message
    # within the limit, the same run completes
    roomy = EngineLimits(max_state_bytes=2_000_000)
    done = asyncio.run(Execution(workflow, REGISTRY, initial_state=given, limits=roomy).run())
    assert done.status == "completed", done.error


def test_rows_measured_once_in_a_settle_count_in_every_list_that_holds_them() -> None:
    state = RunState()
    budget = StateBudget(BIG)
    built = rows(300)  # built by the run: walked, then summed from the walk's memo
    one = measure(built, BIG)
    assert settled(state, budget, a=built, b=list(built), c=list(built)) == 3 * one


def test_a_too_deep_initial_row_fails_the_run_as_a_walk_would_name_it() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(600):
        inner["d"] = {}
        inner = inner["d"]
    given = {"rows": [{"id": i, "x": deep if i == 0 else 1} for i in range(200)]}
    document = {
        "id": "f",
        "name": "f",
        "version": "1.0.0",
        "workflow": [
            {
                "filter": {
                    "items": "$.rows",
                    "conditions": [
                        {"field": "id", "dataType": "number", "operation": "gte", "value": 0}
                    ],
                }
            }
        ],
    }
    workflow = load_workflow(document, REGISTRY)
    execution = Execution(workflow, REGISTRY, initial_state=given, copy_initial_state=False)
    result = asyncio.run(execution.run())
    assert result.error is not None and result.error.code == "VALUE_TOO_DEEP"
    assert "node 'filter' at /workflow/0/filter wrote $.filterPassed" in result.error.message
