"""arrayUtilities (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.nodes.arrays import ArrayUtilitiesNode

from .test_data_helpers import assert_error, call

STATE: dict[str, Any] = {
    "nums": [3, 1, 3, 0, None, 2, "", "3", False, [4, [5, [6]]]],
    "other": [1, 2, 9],
    "users": [{"id": 1, "n": "a"}, {"id": 2, "n": "b"}, {"id": 1, "n": "c"}, 7],
    "deep": {"list": [1, 2, 3, 4, 5]},
}


def run(operation: str, field: str = "nums", **params: Any) -> tuple[Any, dict[str, Any]]:
    state = dict(STATE)
    return call(ArrayUtilitiesNode(), {"operation": operation, "field": field, **params}, state)


def result(operation: str, field: str = "nums", **params: Any) -> Any:
    edge, state = run(operation, field, **params)
    assert edge.name == "success", edge
    name = params.get("outputField") or f"{field}Result"
    assert edge.data is not None and edge.data[name] == state["arrayUtilResult"][name]
    return edge.data[name]


@pytest.mark.parametrize(
    ("operation", "field", "params", "expected"),
    [
        ("compact", "nums", {}, [3, 1, 3, 2, "3", [4, [5, [6]]]]),
        ("unique", "nums", {}, [3, 1, 0, None, 2, "", False, [4, [5, [6]]]]),  # "3" is 3
        ("unique", "users", {"uniqueBy": "id"}, [{"id": 1, "n": "a"}, {"id": 2, "n": "b"}, 7]),
        ("reverse", "other", {}, [9, 2, 1]),
        ("flatten", "nums", {"depth": 1}, [3, 1, 3, 0, None, 2, "", "3", False, 4, [5, [6]]]),
        ("flatten", "nums", {}, [3, 1, 3, 0, None, 2, "", "3", False, 4, 5, 6]),
        ("chunk", "deep.list", {"chunkSize": 2}, [[1, 2], [3, 4], [5]]),
        ("chunk", "deep.list", {}, [[1, 2, 3, 4, 5]]),
        ("first", "deep.list", {"count": 2}, [1, 2]),
        ("first", "deep.list", {}, [1]),
        ("last", "deep.list", {"count": 2}, [4, 5]),
        ("last", "deep.list", {"count": 0}, []),
        ("difference", "deep.list", {"compareArray": "other"}, [3, 4, 5]),
        ("intersection", "deep.list", {"compareArray": "other"}, [1, 2]),
        ("union", "other", {"compareArray": "deep.list"}, [1, 2, 9, 3, 4, 5]),
    ],
)
def test_array_operations(
    operation: str, field: str, params: dict[str, Any], expected: list[Any]
) -> None:
    assert result(operation, field, **params) == expected


def test_shuffle_and_sample_are_random_subsets() -> None:
    shuffled = result("shuffle", "deep.list")
    assert sorted(shuffled) == [1, 2, 3, 4, 5]
    sample = result("sample", "deep.list", sampleSize=3)
    assert len(sample) == 3 and len(set(sample)) == 3 and set(sample) <= {1, 2, 3, 4, 5}
    assert sorted(result("sample", "deep.list", sampleSize=10)) == [1, 2, 3, 4, 5]
    assert STATE["deep"]["list"] == [1, 2, 3, 4, 5]


def test_result_state_and_edge_shape() -> None:
    edge, state = run("reverse", "other", outputField="backwards")
    assert edge.data is not None
    assert edge.data == {
        "other": [1, 2, 9],
        "backwards": [9, 2, 1],
        "operation": "reverse",
        "inputLength": 3,
        "outputLength": 3,
    }
    written = dict(state["arrayUtilResult"])
    assert written.pop("timestamp").endswith("Z")
    assert written == {
        "backwards": [9, 2, 1],
        "operation": "reverse",
        "field": "other",
        "resultField": "backwards",
        "inputLength": 3,
        "outputLength": 3,
    }


def test_unique_is_the_default_operation() -> None:
    _edge, state = call(ArrayUtilitiesNode(), {"field": "other"}, {"other": [1, 1, 2]})
    assert state["arrayUtilResult"]["otherResult"] == [1, 2]


def test_reads_from_edge_data_when_given() -> None:
    _edge, state = call(
        ArrayUtilitiesNode(),
        {"operation": "reverse", "field": "xs"},
        {"xs": ["state"]},
        edge_data={"data": {"xs": [1, 2]}},
    )
    assert state["arrayUtilResult"]["xsResult"] == [2, 1]


def test_empty_array() -> None:
    edge, state = call(ArrayUtilitiesNode(), {"operation": "reverse", "field": "xs"}, {"xs": []})
    assert edge.name == "empty"
    assert edge.data == {"xs": [], "xsResult": []}
    assert state["arrayUtilResult"] == {
        "operation": "reverse",
        "field": "xs",
        "resultField": "xsResult",
        "inputLength": 0,
        "outputLength": 0,
    }


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"operation": "reverse"}, ["field"]),
        ({"operation": "reverse", "field": [1, 2]}, ["field", "not a $. reference"]),
        ({"operation": "reverse", "field": "missing"}, ["missing", "(field)"]),
        ({"operation": "reverse", "field": "deep"}, ["deep", "not an array"]),
        ({"operation": "explode", "field": "other"}, ["explode"]),
        ({"operation": "chunk", "field": "other", "chunkSize": 0}, ["chunkSize"]),
        ({"operation": "chunk", "field": "other", "chunkSize": "2"}, ["chunkSize"]),
        ({"operation": "first", "field": "other", "count": "all"}, ["count"]),
        ({"operation": "sample", "field": "other", "sampleSize": None}, ["sampleSize"]),
        ({"operation": "flatten", "field": "other", "depth": "deep"}, ["depth"]),
        ({"operation": "union", "field": "other"}, ["compareArray", "union"]),
        ({"operation": "difference", "field": "other", "compareArray": "deep"}, ["compareArray"]),
    ],
)
def test_bad_input(params: dict[str, Any], words: list[str]) -> None:
    edge, state = call(ArrayUtilitiesNode(), params, dict(STATE))
    assert_error(edge, *words)
    assert "arrayUtilResult" not in state
