"""Core nodes: math, logic, transform, log, empty, end, wait."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext, RunEnded
from workscript_jupyter.nodes.core import (
    EmptyNode,
    EndNode,
    LogicNode,
    LogNode,
    MathNode,
    TransformNode,
    WaitNode,
)


def call(
    node: Node,
    params: dict[str, Any],
    state: dict[str, Any] | None = None,
    logs: list[str] | None = None,
) -> tuple[Edge | None, dict[str, Any]]:
    state = {} if state is None else state
    node_id = node.metadata.id
    ctx = NodeContext(
        state,
        node_id=node_id,
        node_type=node_id,
        node_path=f"/workflow/0/{node_id}",
        on_log=logs.append if logs is not None else None,
    )
    return asyncio.run(node.execute(ctx, params)), state


def doc(steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps, **extra}


# -- math ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "values", "result"),
    [
        ("add", [1, 2, 3], 6),
        ("add", [1.5, 2], 3.5),
        ("add", [], 0),
        ("subtract", [10, 3, 2], 5),
        ("subtract", [5], 5),
        ("multiply", [2, 3, 4], 24),
        ("multiply", [2, 0.5], 1),
        ("divide", [100, 5, 2], 10),
        ("divide", [1, 4], 0.25),
        ("divide", [0, 5], 0),
        ("add", [-1, -2], -3),
    ],
)
def test_math(operation: str, values: list, result: float) -> None:
    edge, state = call(MathNode(), {"operation": operation, "values": values})
    assert edge == Edge("success", {"result": result})
    assert state["mathResult"] == result


def test_math_integral_division_is_an_int() -> None:
    edge, state = call(MathNode(), {"operation": "divide", "values": [4, 2]})
    assert state["mathResult"] == 2
    assert type(state["mathResult"]) is int
    assert type(edge.data["result"]) is int


def test_math_adds_left_to_right_like_javascript() -> None:
    # [0.1 x 10].reduce((a, b) => a + b) is 0.9999999999999999 in JavaScript
    _, state = call(MathNode(), {"operation": "add", "values": [0.1] * 10})
    assert state["mathResult"] == 0.9999999999999999
    _, state = call(MathNode(), {"operation": "add", "values": [1e16, 1.0, -1e16]})
    assert state["mathResult"] == 0


@pytest.mark.parametrize("values", [[1, 0], [10, 2, 0], [0, 0]])
def test_math_division_by_zero(values: list) -> None:
    edge, state = call(MathNode(), {"operation": "divide", "values": values})
    assert edge == Edge("error", {"error": "division by zero"})
    assert "mathResult" not in state


@pytest.mark.parametrize(
    ("values", "where", "shown"),
    [
        (["1", 2], "values[0]", "'1'"),
        ([1, True], "values[1]", "True"),
        ([1, 2, None], "values[2]", "None"),
        ([1, [2]], "values[1]", "[2]"),
    ],
)
def test_math_non_number(values: list, where: str, shown: str) -> None:
    edge, state = call(MathNode(), {"operation": "add", "values": values})
    assert edge.name == "error"
    assert edge.data["error"] == f"{where} must be a number, got {shown}"
    assert "mathResult" not in state


def test_math_unknown_operation() -> None:
    edge, _ = call(MathNode(), {"operation": "power", "values": [2, 3]})
    assert edge == Edge("error", {"error": "Unknown operation: power"})


@pytest.mark.parametrize("params", [{"values": [1]}, {"operation": "add"}, {}])
def test_math_missing_parameters(params: dict) -> None:
    edge, _ = call(MathNode(), params)
    assert edge == Edge("error", {"error": "Missing operation or values"})


def test_math_values_not_a_list() -> None:
    edge, _ = call(MathNode(), {"operation": "add", "values": 5})
    assert edge.name == "error"
    assert "values must be a list" in edge.data["error"]


def test_math_subtract_empty() -> None:
    edge, _ = call(MathNode(), {"operation": "subtract", "values": []})
    assert edge == Edge("error", {"error": "subtract needs at least one value"})


def test_math_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "math": {
                        "operation": "multiply",
                        "values": ["$.a", "$.b.c"],
                        "success?": {"$.product": "$.mathResult"},
                    }
                },
                {
                    "math": {
                        "operation": "divide",
                        "values": ["$.a", 0],
                        "error?": {"$.err": "$._edgeContext.error"},
                    }
                },
            ]
        ),
        {"a": 6, "b": {"c": 7}},
    )
    assert result.final_state["product"] == 42
    assert result.final_state["err"] == "division by zero"
    assert result.final_state["mathResult"] == 42  # the failed division wrote nothing


def test_math_missing_reference_names_the_value(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "math": {
                        "operation": "add",
                        "values": [1, "$.nope"],
                        "error?": {"$.err": "$._edgeContext.error"},
                    }
                }
            ]
        )
    )
    assert result.final_state["err"] == "values[1] must be a number, got None"


# -- logic --------------------------------------------------------------------------------------


def logic(operation: str, values: Any) -> tuple[str, Any]:
    edge, state = call(LogicNode(), {"operation": operation, "values": values})
    assert edge is not None
    return edge.name, state.get("logicResult")


@pytest.mark.parametrize(
    ("operation", "values", "expected"),
    [
        ("and", [True, 1, "x"], True),
        ("and", [True, 0], False),
        ("and", [[], {}], True),  # [] and {} are truthy in JavaScript
        ("and", [True, ""], False),
        ("and", [], True),
        ("or", [0, "", None, []], True),
        ("or", [0, "", None, False], False),
        ("or", [], False),
        ("not", [[]], False),
        ("not", [0], True),
        ("not", [""], True),
        ("not", ["0"], False),
        ("not", [], True),
        ("not", True, False),  # a single value is one operand
    ],
)
def test_logic_boolean(operation: str, values: Any, expected: bool) -> None:
    assert logic(operation, values) == ("true" if expected else "false", expected)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1], True),
        ([1, 1.0], True),
        ([1, True], False),
        (["1", 1], False),
        ([None, None], True),
        ([None, 0], False),
        (["a", "a"], True),
        ([{"a": [1]}, {"a": [1]}], True),
        ([[1, 2], [1, 2, 3]], False),
        ([1], False),
    ],
)
def test_logic_equal_is_strict(values: list, expected: bool) -> None:
    assert logic("equal", values) == ("true" if expected else "false", expected)


def test_logic_equal_nested_booleans_are_strict() -> None:
    # equal is ===, by value for objects: {"a": true} is not {"a": 1}
    assert logic("equal", [{"a": True}, {"a": 1}]) == ("false", False)
    assert logic("equal", [[1], [True]]) == ("false", False)


@pytest.mark.parametrize(
    ("operation", "values", "expected"),
    [
        ("greater", [3, 2], True),
        ("greater", [2, 3], False),
        ("greater", [2, 2], False),
        ("less", [2, 3], True),
        ("less", [2.5, 2], False),
        ("less", ["a", "b"], True),  # strings compare as strings
        ("greater", ["10", "9"], False),
        ("greater", [{"a": 1}, 1], False),  # incomparable → false, not an error
        ("less", [{"a": 1}, 1], False),
        ("less", ["abc", 1], False),
        ("greater", ["abc", 1], False),
        ("greater", [[1], {"a": 1}], False),
        ("greater", [5], False),
        ("less", [], False),
    ],
)
def test_logic_compare(operation: str, values: list, expected: bool) -> None:
    assert logic(operation, values) == ("true" if expected else "false", expected)


@pytest.mark.parametrize(
    ("operation", "values", "expected"),
    [("less", ["3", 10], True), ("greater", ["30", 4], True), ("greater", [10, "9"], True)],
)
def test_logic_compares_numeric_strings_with_numbers(
    operation: str, values: list, expected: bool
) -> None:
    # JavaScript: "3" < 10 converts the string to a number (values.py's own rule)
    assert logic(operation, values) == ("true" if expected else "false", expected)


def test_logic_unknown_and_missing() -> None:
    edge, state = call(LogicNode(), {"operation": "xor", "values": [1, 0]})
    assert edge == Edge("error", {"error": "Unknown operation: xor"})
    assert "logicResult" not in state
    edge, _ = call(LogicNode(), {"operation": "and"})
    assert edge == Edge("error", {"error": "Missing operation or values"})


def test_logic_edge_data() -> None:
    edge, _ = call(LogicNode(), {"operation": "less", "values": [1, 2]})
    assert edge == Edge("true", {"result": True})


def test_logic_in_a_workflow(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "logic": {
                        "operation": "less",
                        "values": ["$.i", 5],
                        "true?": {"$.branch": "yes"},
                        "false?": {"$.branch": "no"},
                    }
                },
            ]
        ),
        {"i": 7},
    )
    assert result.final_state["branch"] == "no"
    assert result.final_state["logicResult"] is False


# -- transform ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "data", "result"),
    [
        ("stringify", {"a": [1, "é"], "b": None}, '{"a":[1,"é"],"b":null}'),
        ("stringify", "x", '"x"'),
        ("parse", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("parse", "42", 42),
        ("parse", {"already": "data"}, {"already": "data"}),
        ("uppercase", "abc Déf", "ABC DÉF"),
        ("uppercase", True, "TRUE"),
        ("lowercase", "ABC", "abc"),
        ("lowercase", 2.0, "2"),
        ("trim", "  x y \n", "x y"),
        ("length", "abcd", 4),
        ("length", [1, 2, 3], 3),
        ("length", 12345, 5),
        ("reverse", "abc", "cba"),
        ("reverse", [1, 2, 3], [3, 2, 1]),
    ],
)
def test_transform(operation: str, data: Any, result: Any) -> None:
    edge, state = call(TransformNode(), {"operation": operation, "data": data})
    assert edge == Edge("success", {"result": result})
    assert state["transformResult"] == result


def test_transform_reverse_does_not_mutate_input() -> None:
    data = [1, 2, 3]
    call(TransformNode(), {"operation": "reverse", "data": data})
    assert data == [1, 2, 3]


def test_transform_parse_invalid_json_raises() -> None:
    with pytest.raises(json.JSONDecodeError):
        call(TransformNode(), {"operation": "parse", "data": "{not json"})


def test_transform_parse_invalid_json_takes_error_edge(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "transform": {
                        "operation": "parse",
                        "data": "{bad",
                        "error?": {"$.err": "$._edgeContext.type"},
                    }
                }
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["err"] == "JSONDecodeError"
    assert "transformResult" not in result.final_state


def test_transform_parse_invalid_json_without_edge_fails(run: Any) -> None:
    result = run(doc([{"transform": {"operation": "parse", "data": "{bad"}}]))
    assert result.status == "failed"
    assert result.error.node_path == "/workflow/0/transform"
    assert "Expecting property name" in result.error.message


def test_transform_unknown_and_missing() -> None:
    edge, _ = call(TransformNode(), {"operation": "explode", "data": "x"})
    assert edge == Edge("error", {"error": "Unknown operation: explode"})
    edge, _ = call(TransformNode(), {"operation": "trim"})
    assert edge == Edge("error", {"error": "Missing operation or data"})


# -- log, empty ---------------------------------------------------------------------------------


def test_log() -> None:
    logs: list[str] = []
    edge, state = call(LogNode(), {"message": "hello"}, logs=logs)
    assert edge == Edge("success", {"message": "hello"})
    assert state["lastLoggedMessage"] == "hello"
    assert logs == ["hello"]


def test_log_non_string() -> None:
    logs: list[str] = []
    _, state = call(LogNode(), {"message": {"n": 2, "l": [True, None]}}, logs=logs)
    assert state["lastLoggedMessage"] == {"n": 2, "l": [True, None]}
    assert logs == ['{"n":2,"l":[true,null]}']
    logs.clear()
    call(LogNode(), {"message": False}, logs=logs)
    assert logs == ["false"]


def test_log_without_message_clears() -> None:
    logs: list[str] = []
    edge, state = call(LogNode(), {}, {"lastLoggedMessage": "old"}, logs=logs)
    assert "lastLoggedMessage" not in state
    assert edge == Edge("success", {"message": None})
    assert logs == [""]


def test_log_in_a_workflow(run: Any) -> None:
    result = run(
        doc([{"log": {"message": "n={{$.n}} items={{$.items}}"}}, "log"]),
        {"n": 3, "items": [1, "a"]},
    )
    assert result.logs == ('n=3 items=[1,"a"]', "")
    assert "lastLoggedMessage" not in result.final_state
    result = run(doc([{"log": {"message": "Result: $.n"}}]), {"n": 3})
    assert result.final_state["lastLoggedMessage"] == "Result: $.n"


def test_empty() -> None:
    edge, state = call(EmptyNode(), {"anything": 1}, {"keep": 1})
    assert edge == Edge("nothing")
    assert state == {"keep": 1}


# -- end ----------------------------------------------------------------------------------------


def test_end_raises_run_ended() -> None:
    with pytest.raises(RunEnded) as info:
        call(EndNode(), {"status": "failed", "message": "stop here"})
    assert (info.value.status, info.value.message) == ("failed", "stop here")
    with pytest.raises(RunEnded) as info:
        call(EndNode(), {})
    assert (info.value.status, info.value.message) == ("completed", "")


def test_end_invalid_status() -> None:
    edge, _ = call(EndNode(), {"status": "aborted"})
    message = 'status must be "completed" or "failed", got \'aborted\''
    assert edge == Edge("error", {"error": message})


def test_end_completed_stops_the_run(run: Any) -> None:
    result = run(doc([{"$.a": 1}, {"end": {"status": "completed", "message": "done"}}, {"$.b": 1}]))
    assert result.status == "completed"
    assert result.error is None
    assert result.final_state["a"] == 1
    assert "b" not in result.final_state


def test_end_failed_stops_the_run(run: Any) -> None:
    result = run(
        doc(
            [
                {"$.a": 1},
                {"log": {"success?": {"end": {"status": "failed", "message": "bad {{$.a}}"}}}},
                {"$.b": 1},
            ]
        )
    )
    assert result.status == "failed"
    assert result.error.message == "bad 1"
    assert result.error.code == "WORKFLOW_ENDED"
    assert result.error.node_type == "end"
    assert result.error.node_path == "/workflow/1/log/success?/end"
    assert "b" not in result.final_state


def test_end_inside_a_loop(run: Any) -> None:
    result = run(
        doc(
            [
                {
                    "range...": {
                        "stop": 10,
                        "current_step?": [
                            {
                                "logic": {
                                    "operation": "equal",
                                    "values": ["$.rangeValue", 3],
                                    "true?": "end",
                                }
                            }
                        ],
                    }
                },
                {"$.after": 1},
            ]
        )
    )
    assert result.status == "completed"
    assert result.final_state["rangeValue"] == 3
    assert "after" not in result.final_state


def test_end_invalid_status_in_a_workflow(run: Any) -> None:
    result = run(doc([{"end": {"status": "maybe"}}, {"$.after": 1}]))
    assert result.status == "completed"
    assert result.final_state["after"] == 1
    assert result.warnings[0]["nodeType"] == "end"


# -- wait ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [-1, "1", True, None, [1]])
def test_wait_bad_seconds(seconds: Any) -> None:
    params = {} if seconds is None else {"seconds": seconds}
    edge, _ = call(WaitNode(), params)
    assert edge == Edge("error", {"error": f"seconds must be a number >= 0, got {seconds!r}"})


@pytest.mark.parametrize("seconds", [0, 0.01])
def test_wait(seconds: float) -> None:
    edge, _ = call(WaitNode(), {"seconds": seconds})
    assert edge == Edge("success", {"waitedSeconds": seconds})


def test_wait_does_not_block_other_runs(run: Any) -> None:
    from workscript_jupyter.engine import load_workflow, run_workflow
    from workscript_jupyter.nodes import builtin_registry

    registry = builtin_registry(plugins=False)
    workflow = load_workflow(doc([{"wait": {"seconds": 0.2}}]), registry)

    async def both() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        results = await asyncio.gather(*(run_workflow(workflow, registry) for _ in range(5)))
        assert all(r.status == "completed" for r in results)
        return loop.time() - started

    assert asyncio.run(both()) < 0.8
