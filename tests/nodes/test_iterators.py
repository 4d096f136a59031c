"""Iterator nodes: range, every-array-item, while."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext
from workscript_jupyter.nodes.iterators import (
    EveryArrayItemNode,
    RangeNode,
    WhileNode,
    evaluate_condition,
)


class Driver:
    """Calls one node repeatedly with a shared state and memory, as a loop would."""

    def __init__(self, node: Node, state: dict[str, Any] | None = None) -> None:
        self.node = node
        self.state: dict[str, Any] = {} if state is None else state
        self.memory: dict[str, dict[str, Any]] = {}

    def step(self, params: dict[str, Any]) -> Edge:
        node_id = self.node.metadata.id
        ctx = NodeContext(
            self.state,
            node_id=node_id,
            node_type=node_id,
            node_path=f"/workflow/0/{node_id}...",
            memory_store=self.memory,
        )
        edge = asyncio.run(self.node.execute(ctx, dict(params)))
        assert edge is not None
        return edge

    def drain(self, params: dict[str, Any], limit: int = 1000) -> list[Edge]:
        edges = []
        for _ in range(limit):
            edge = self.step(params)
            edges.append(edge)
            if edge.name not in ("current_step", "current-item", "do"):
                return edges
        raise AssertionError("the iterator did not finish")


def doc(steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps, **extra}


def range_values(**params: Any) -> list[Any]:
    edges = Driver(RangeNode()).drain(params)
    assert edges[-1].name == "complete"
    return [e.data["value"] for e in edges[:-1]]


# -- range --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "values"),
    [
        ({"stop": 3}, [0, 1, 2]),
        ({"start": 2, "stop": 5}, [2, 3, 4]),
        ({"start": 0, "stop": 10, "step": 3}, [0, 3, 6, 9]),
        ({"start": 5, "stop": 0, "step": -2}, [5, 3, 1]),
        ({"start": 3, "stop": -1, "step": -1}, [3, 2, 1, 0]),
        ({"start": -2, "stop": 1}, [-2, -1, 0]),
        ({"start": 0, "stop": 1, "step": 0.25}, [0, 0.25, 0.5, 0.75]),
        ({"stop": 2.5}, [0, 1, 2]),
    ],
)
def test_range_values(params: dict, values: list) -> None:
    assert range_values(**params) == values


def test_range_step_state_and_edge_data() -> None:
    driver = Driver(RangeNode())
    first = driver.step({"start": 10, "stop": 13})
    assert first == Edge(
        "current_step",
        {
            "value": 10,
            "index": 0,
            "totalIterations": 3,
            "isFirst": True,
            "isLast": False,
            "remaining": 2,
            "start": 10,
            "stop": 13,
            "step": 1,
        },
    )
    assert driver.state == {
        "rangeValue": 10,
        "rangeIndex": 0,
        "rangeTotal": 3,
        "rangeIsFirst": True,
        "rangeIsLast": False,
    }
    driver.step({"start": 10, "stop": 13})
    last = driver.step({"start": 10, "stop": 13})
    assert (last.data["value"], last.data["isLast"], last.data["remaining"]) == (12, True, 0)
    done = driver.step({"start": 10, "stop": 13})
    assert done.name == "complete"
    assert done.data["totalIterations"] == 3
    assert done.data["message"] == "All values in range have been processed"
    assert "rangeValue" not in driver.state
    assert driver.state["rangeTotal"] == 3
    assert driver.memory == {"/workflow/0/range...": {}}
    # finished: the next visit starts over
    assert driver.step({"start": 10, "stop": 13}).data["value"] == 10


def test_range_custom_keys() -> None:
    driver = Driver(RangeNode())
    driver.step({"stop": 2, "valueKey": "v", "indexKey": "i"})
    assert (driver.state["v"], driver.state["i"]) == (0, 0)
    assert "rangeValue" not in driver.state


def test_range_float_step_without_drift() -> None:
    values = range_values(start=0, stop=1, step=0.1)
    assert len(values) == 10
    assert values == pytest.approx([i / 10 for i in range(10)], abs=1e-12)
    assert values[-1] < 1


def test_range_float_step_negative() -> None:
    values = range_values(start=1, stop=0, step=-0.1)
    assert len(values) == 10
    assert values == pytest.approx([1 - i / 10 for i in range(10)], abs=1e-12)


@pytest.mark.parametrize(
    ("start", "stop", "step", "count"),
    [(0.1, 0.4, 0.1, 3), (0, 2.1, 0.3, 7), (0.2, 0.5, 0.1, 3), (0, 3.3, 1.1, 3)],
)
def test_range_float_stop_is_exclusive(start: float, stop: float, step: float, count: int) -> None:
    # 0.1, 0.2, 0.3 for range(0.1, 0.4, 0.1): the stop is never produced
    values = range_values(start=start, stop=stop, step=step)
    assert len(values) == count, values
    assert all(v < stop - 1e-9 for v in values)


@pytest.mark.parametrize(
    "params",
    [
        {"stop": 0},
        {"start": 5, "stop": 5},
        {"start": 5, "stop": 1},
        {"start": 0, "stop": 3, "step": -1},
    ],
)
def test_range_empty(params: dict) -> None:
    driver = Driver(RangeNode())
    edge = driver.step(params)
    assert edge.name == "complete"
    assert edge.data["totalIterations"] == 0
    assert edge.data["message"] == "Range is empty, no values to iterate"
    assert driver.state["rangeIndex"] == -1
    assert driver.state["rangeTotal"] == 0
    assert driver.state["rangeIsLast"] is False


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Missing required parameter: stop"),
        ({"start": 1}, "Missing required parameter: stop"),
        ({"stop": "5"}, "Parameter \"stop\" must be a valid number, got '5'"),
        ({"stop": 5, "start": "a"}, "Parameter \"start\" must be a valid number, got 'a'"),
        ({"stop": 5, "step": True}, 'Parameter "step" must be a valid number, got True'),
        ({"stop": float("nan")}, 'Parameter "stop" must be a valid number, got nan'),
        ({"stop": 5, "step": 0}, 'Parameter "step" cannot be zero (would cause infinite loop)'),
    ],
)
def test_range_validation(params: dict, message: str) -> None:
    driver = Driver(RangeNode())
    edge = driver.step(params)
    assert edge == Edge("error", {"error": message, "nodeId": "range"})
    assert "rangeValue" not in driver.state


def test_range_loop_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "range...": {
                        "start": 1,
                        "stop": 4,
                        "current_step?": [
                            {"math": {"operation": "add", "values": ["$.sum", "$.rangeValue"]}},
                            {"$.sum": "$.mathResult"},
                        ],
                    }
                },
                {"$.done": "$._edgeContext.totalIterations"},
            ],
            initialState={"sum": 0},
        )
    )
    assert result.status == "completed"
    assert result.final_state["sum"] == 6
    assert result.final_state["done"] == 3
    assert result.node_runs == 3 * 3 + 1 + 1
    assert "__range" not in str(list(result.final_state))


def test_loop_with_configured_complete_edge_re_enters(run: Any) -> None:
    # §4: a loop re-runs while it takes a configured edge; a range restarts after complete,
    # so a configured complete? makes the loop spin until maxLoopIterations
    result = run(
        doc(
            [{"range...": {"stop": 2, "current_step?": ["empty"], "complete?": ["empty"]}}],
            maxLoopIterations=20,
        )
    )
    assert result.status == "failed"
    assert result.error.code == "LOOP_LIMIT_EXCEEDED"
    assert result.error.node_path == "/workflow/0/range..."


def test_loop_with_null_complete_edge_exits(run: Any) -> None:
    result = run(
        doc(
            [
                {"range...": {"stop": 2, "current_step?": ["empty"], "complete?": None}},
                {"$.after": 1},
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["after"] == 1


def test_range_error_edge_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "range": {
                        "stop": "$.n",
                        "current_step?": "empty",
                        "error?": {"$.err": "$._edgeContext.error"},
                    }
                }
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["err"] == "Missing required parameter: stop"
    looped = run(doc([{"range...": {"stop": "$.n", "current_step?": "empty"}}, {"$.after": 1}]))
    assert looped.status == "completed"
    assert looped.final_state["after"] == 1
    assert looped.warnings[0]["message"] == "Missing required parameter: stop"


def test_range_nested_runs_six_times(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "range...": {
                        "stop": 2,
                        "valueKey": "o",
                        "indexKey": "oi",
                        "current_step?": [{"range...": {"stop": 3, "current_step?": ["log"]}}],
                    }
                }
            ]
        )
    )
    assert len(result.logs) == 6


# -- every-array-item ---------------------------------------------------------------------------


def test_every_array_item_visits_each_item() -> None:
    driver = Driver(EveryArrayItemNode())
    edges = driver.drain({"items": ["a", {"b": 1}, 3]})
    assert [e.name for e in edges] == ["current-item"] * 3 + ["complete"]
    assert [e.data["item"] for e in edges[:3]] == ["a", {"b": 1}, 3]
    assert edges[0].data == {
        "item": "a",
        "index": 0,
        "totalItems": 3,
        "isFirst": True,
        "isLast": False,
        "remaining": 2,
    }
    assert (edges[2].data["isLast"], edges[2].data["remaining"]) == (True, 0)
    assert edges[3].data == {
        "message": "All items have been processed",
        "totalItems": 3,
        "itemsProcessed": 3,
    }
    assert "currentItem" not in driver.state
    assert driver.state["everyArrayItemTotal"] == 3


def test_every_array_item_state_keys() -> None:
    driver = Driver(EveryArrayItemNode())
    driver.step({"items": [10, 20], "itemKey": "row", "indexKey": "rowIndex"})
    driver.step({"items": [10, 20], "itemKey": "row", "indexKey": "rowIndex"})
    assert driver.state == {
        "row": 20,
        "rowIndex": 1,
        "everyArrayItemTotal": 2,
        "everyArrayItemIsFirst": False,
        "everyArrayItemIsLast": True,
    }


def test_every_array_item_copies_the_list() -> None:
    items = [1, 2]
    driver = Driver(EveryArrayItemNode())
    driver.step({"items": items})
    items.append(3)  # changing the list during the loop does not change the iteration
    edges = driver.drain({"items": items})
    assert [e.data.get("item") for e in edges] == [2, None]
    assert edges[-1].data["totalItems"] == 2


def test_every_array_item_copy_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "every-array-item...": {
                        "items": "$.list",
                        "current-item?": [
                            {"math": {"operation": "add", "values": ["$.n", 1]}},
                            {"$.n": "$.mathResult"},
                            {"$.list[2]": "grown"},
                        ],
                    }
                }
            ]
        ),
        {"list": ["a", "b"], "n": 0},
    )
    assert result.status == "completed"
    assert result.final_state["n"] == 2
    assert result.final_state["list"] == ["a", "b", "grown"]


def test_every_array_item_empty_list() -> None:
    driver = Driver(EveryArrayItemNode())
    edge = driver.step({"items": []})
    assert edge == Edge(
        "complete",
        {"message": "Array is empty, no items to process", "totalItems": 0, "itemsProcessed": 0},
    )
    assert driver.state["currentIndex"] == -1
    assert driver.state["everyArrayItemIsLast"] is False


@pytest.mark.parametrize(("items", "received"), [("abc", "str"), ({"a": 1}, "dict"), (5, "int")])
def test_every_array_item_not_a_list(items: Any, received: str) -> None:
    edge = Driver(EveryArrayItemNode()).step({"items": items})
    assert edge == Edge(
        "error",
        {
            "error": 'Parameter "items" must be an array',
            "nodeId": "every-array-item",
            "expected": "array",
            "received": received,
        },
    )


def test_every_array_item_missing_items() -> None:
    edge = Driver(EveryArrayItemNode()).step({})
    assert edge == Edge(
        "error", {"error": "Missing required parameter: items", "nodeId": "every-array-item"}
    )


def test_every_array_item_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "every-array-item...": {
                        "items": "$.users",
                        "current-item?": [
                            {"log": {"message": "{{$.currentIndex}}:{{$.currentItem.name}}"}}
                        ],
                    }
                }
            ]
        ),
        {"users": [{"name": "ann"}, {"name": "bob"}]},
    )
    assert result.logs == ("0:ann", "1:bob")


# -- while --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "operator", "right", "expected"),
    [
        (1, "<", 2, True),
        (2, "<", 2, False),
        (2, "less", 3, True),
        (2, "<=", 2, True),
        (3, "lessOrEqual", 2, False),
        (3, ">", 2, True),
        (2, "greater", 2, False),
        (2, ">=", 2, True),
        (1, "greaterOrEqual", 2, False),
        ("10", ">", "9", True),  # numeric, not string, comparison
        (None, "<", 1, True),
        ("abc", "<", 1, False),
        ("5", "==", 5, True),
        ("5", "equals", 6, False),
        (None, "==", None, True),
        ("5", "===", 5, False),
        (5, "===", 5.0, True),
        ("5", "!=", 5, False),
        (1, "notEquals", 2, True),
        ("5", "!==", 5, True),
        (5, "!==", 5, False),
    ],
)
def test_condition_operators(left: Any, operator: str, right: Any, expected: bool) -> None:
    assert evaluate_condition({"left": left, "operator": operator, "right": right}) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (True, True),
        (False, False),
        (0, False),
        (1, True),
        ("", False),
        ("x", True),
        ([], True),
        ({"left": 1}, True),
        (None, False),
    ],
)
def test_condition_values(condition: Any, expected: bool) -> None:
    assert evaluate_condition(condition) is expected


def test_condition_unknown_operator() -> None:
    with pytest.raises(ValueError, match="unknown operator '<>'"):
        evaluate_condition({"left": 1, "operator": "<>", "right": 2})


def test_while_do_then_done() -> None:
    driver = Driver(WhileNode())
    first = driver.step({"condition": True})
    assert first == Edge(
        "do", {"iteration": 0, "isFirst": True, "conditionWasTrue": True, "nodeId": "while"}
    )
    assert driver.state == {"whileIteration": 0, "whileIsFirst": True}
    second = driver.step({"condition": True})
    assert second.data["iteration"] == 1 and second.data["isFirst"] is False
    done = driver.step({"condition": False})
    assert done == Edge(
        "done",
        {
            "message": "While loop condition is false, exiting loop",
            "totalIterations": 2,
            "nodeId": "while",
        },
    )
    assert driver.state["whileIteration"] == 2
    assert driver.step({"condition": True}).data["iteration"] == 0  # restarted


def test_while_max_iterations() -> None:
    driver = Driver(WhileNode())
    edges = driver.drain({"condition": True, "maxIterations": 3})
    assert [e.name for e in edges] == ["do", "do", "do", "error"]
    assert edges[-1].data == {
        "error": "Maximum iterations (3) exceeded",
        "nodeId": "while",
        "iterationsExecuted": 3,
    }
    assert driver.state["whileIteration"] == 3


@pytest.mark.parametrize("limit", [0, -1, "5", True])
def test_while_bad_max_iterations(limit: Any) -> None:
    edge = Driver(WhileNode()).step({"condition": True, "maxIterations": limit})
    assert edge == Edge(
        "error", {"error": 'Parameter "maxIterations" must be a positive number', "nodeId": "while"}
    )


def test_while_missing_condition() -> None:
    driver = Driver(WhileNode())
    edge = driver.step({})
    assert edge == Edge(
        "error", {"error": "Missing required parameter: condition", "nodeId": "while"}
    )
    assert driver.state == {}


def test_while_unknown_operator_raises_and_resets() -> None:
    driver = Driver(WhileNode())
    driver.step({"condition": True})
    with pytest.raises(ValueError):
        driver.step({"condition": {"left": 1, "operator": "~", "right": 1}})
    assert driver.step({"condition": True}).data["iteration"] == 0


def test_while_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "while...": {
                        "condition": {"left": "$.count", "operator": "<", "right": 3},
                        "do?": [
                            {"math": {"operation": "add", "values": ["$.count", 1]}},
                            {"$.count": "$.mathResult"},
                        ],
                    }
                },
                {"$.finished": True},
            ]
        ),
        {"count": 0},
    )
    assert result.status == "completed"
    assert result.final_state["count"] == 3
    assert result.final_state["whileIteration"] == 3
    assert result.final_state["finished"] is True


def test_while_reference_condition(run: Any) -> None:
    result = run(
        doc([{"while...": {"condition": "$.go", "do?": [{"$.go": False}, {"$.ran": True}]}}]),
        {"go": True},
    )
    assert result.final_state["ran"] is True
    assert result.final_state["whileIteration"] == 1


def test_while_max_iterations_exits_the_loop(run: Any) -> None:
    result = run(
        doc(
            [
                {"while...": {"condition": True, "maxIterations": 2, "do?": ["empty"]}},
                {"$.after": 1},
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["after"] == 1
    assert result.final_state["whileIteration"] == 2
    assert [w["message"] for w in result.warnings] == ["Maximum iterations (2) exceeded"]
    failed = run(
        doc(
            [{"while...": {"condition": True, "maxIterations": 2, "do?": ["empty"]}}],
            onUnhandledError="fail",
        )
    )
    assert failed.status == "failed"
    assert failed.error.message == "Maximum iterations (2) exceeded"


def test_while_unknown_operator_error_edge(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "while...": {
                        "condition": {"left": 1, "operator": "<>", "right": 2},
                        "do?": ["empty"],
                    }
                }
            ]
        )
    )
    assert result.status == "failed"
    assert result.error.node_path == "/workflow/0/while..."
    assert result.error.message == "unknown operator '<>' in while condition"
