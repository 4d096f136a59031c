"""Object nodes: editFields, transformObject, objectUtilities, mathOperations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext
from workscript_jupyter.nodes.objects import (
    NODES,
    EditFieldsNode,
    TransformObjectNode,
)
from workscript_jupyter.nodes.objects_math import MathOperationsNode
from workscript_jupyter.nodes.objects_utilities import ObjectUtilitiesNode


def call(
    node: Node,
    params: dict[str, Any],
    state: dict[str, Any] | None = None,
    edge_data: dict[str, Any] | None = None,
) -> tuple[Edge, dict[str, Any]]:
    state = {} if state is None else state
    node_id = node.metadata.id
    ctx = NodeContext(
        state,
        node_id=node_id,
        node_type=node_id,
        node_path=f"/workflow/0/{node_id}",
        edge_data=edge_data,
    )
    edge = asyncio.run(node.execute(ctx, params))
    assert edge is not None
    return edge, state


def error_of(edge: Edge) -> str:
    assert edge.name == "error"
    assert edge.data is not None
    return str(edge.data["error"])


def doc(steps: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps, **extra}


@pytest.mark.parametrize("node", NODES, ids=lambda n: n.metadata.id)
def test_every_example_runs_through_the_engine(node: type[Node], run: Any) -> None:
    state = {
        "first": "Ada",
        "last": "Lovelace",
        "user": {"name": "Ada"},
        "order": {"quantity": 3, "price": 2.5},
    }
    result = run(doc([{node.metadata.id: dict(node.metadata.example)}]), state)
    assert result.status == "completed"
    assert result.timeline[0].edge in node.metadata.edges
    assert result.timeline[0].edge != "error"


# -- editFields ---------------------------------------------------------------------------------


def test_edit_fields_sets_typed_and_nested_fields_from_inputs() -> None:
    params = {
        "fieldsToSet": [
            {"name": "fullName", "value": "{{first}} {{ last }}", "type": "expression"},
            {"name": "score", "value": "100", "type": "number"},
            {"name": "user.active", "value": "TRUE", "type": "boolean"},
            {"name": "tags", "value": "a, b", "type": "array"},
            {"name": "meta", "value": '{"x": 1}', "type": "object"},
            {"name": "count", "value": 7},
        ],
        "includeOtherFields": False,
    }
    edge, state = call(EditFieldsNode(), params, {"first": "Ada"}, edge_data={"last": "L"})
    expected = {
        "fullName": "Ada L",
        "score": 100,
        "user": {"active": True},
        "tags": ["a", "b"],
        "meta": {"x": 1},
        "count": "7",  # the type defaults to string, as the original
    }
    assert state["editFieldsResult"] == expected
    assert state["fieldsModified"] == ["fullName", "score", "user", "tags", "meta", "count"]
    assert edge == Edge(
        "success", {"result": expected, "fieldsModified": list(expected), "mode": "manual_mapping"}
    )


def test_edit_fields_keeps_other_inputs_without_bookkeeping_or_touching_the_state() -> None:
    state = {"user": {"name": "Ada"}, "_edgeContext": {"x": 1}, "editFieldsResult": {"old": 1}}
    params = {"fieldsToSet": [{"name": "user.age", "value": 36, "type": "number"}]}
    _, state = call(EditFieldsNode(), params, state)
    assert state["editFieldsResult"] == {"user": {"name": "Ada", "age": 36}}
    assert state["user"] == {"name": "Ada"}  # the copy was changed, not the state


def test_edit_fields_without_dot_notation_uses_the_name_as_a_key() -> None:
    params = {
        "fieldsToSet": [{"name": "a.b", "value": 1, "type": "number"}],
        "includeOtherFields": False,
        "supportDotNotation": False,
    }
    _, state = call(EditFieldsNode(), params)
    assert state["editFieldsResult"] == {"a.b": 1}


def test_edit_fields_json_output_fills_the_template() -> None:
    params = {
        "mode": "json_output",
        "jsonOutput": '{"user": {"name": "{{first}}", "age": {{age}}}}',
    }
    edge, state = call(EditFieldsNode(), params, {"first": "Ada", "age": 36})
    assert state["editFieldsResult"] == {"user": {"name": "Ada", "age": 36}}
    assert state["fieldsModified"] == ["user"]
    assert edge.name == "success"


def test_edit_fields_json_output_accepts_an_object_template() -> None:
    params = {"mode": "json_output", "jsonOutput": {"greeting": "hi {{first}}"}}
    _, state = call(EditFieldsNode(), params, {"first": "Ada"})
    assert state["editFieldsResult"] == {"greeting": "hi Ada"}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"mode": "replace"}, "Invalid mode"),
        ({"fieldsToSet": {"name": "x"}}, "fieldsToSet must be a list"),
        ({"fieldsToSet": [{"value": 1}]}, "Field name is required"),
        (
            {"fieldsToSet": [{"name": "n", "value": "abc", "type": "number"}]},
            'Cannot convert "abc"',
        ),
        ({"fieldsToSet": [{"name": "o", "value": "{bad", "type": "object"}]}, "as JSON object"),
        ({"mode": "json_output"}, "jsonOutput is required"),
        ({"mode": "json_output", "jsonOutput": "{nope"}, "jsonOutput"),
        ({"mode": "json_output", "jsonOutput": "[1]"}, "jsonOutput must give an object"),
    ],
)
def test_edit_fields_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(EditFieldsNode(), {"includeOtherFields": False, **params})
    assert words in error_of(edge)
    assert "editFieldsResult" not in state


def test_edit_fields_ignore_type_errors_keeps_the_raw_value_and_skips_nameless_fields() -> None:
    params = {
        "fieldsToSet": [{"value": 1}, {"name": "n", "value": "abc", "type": "number"}],
        "includeOtherFields": False,
        "ignoreTypeErrors": True,
    }
    edge, state = call(EditFieldsNode(), params)
    assert edge.name == "success"
    assert state["editFieldsResult"] == {"n": "abc"}


# -- transformObject ----------------------------------------------------------------------------

NESTED = {"user": {"name": "Ada", "address": {"city": "London"}}, "id": 1}


@pytest.mark.parametrize(
    ("params", "result"),
    [
        ({"operation": "flatten"}, {"user.name": "Ada", "user.address.city": "London", "id": 1}),
        (
            {"operation": "flatten", "separator": "_", "depth": 1},
            {"user_name": "Ada", "user_address": {"city": "London"}, "id": 1},
        ),
        ({"operation": "flatten", "depth": 0}, NESTED),
        ({"operation": "pick", "keys": ["id", "missing"]}, {"id": 1}),
        (
            {"operation": "pick", "keys": ["user", "name"], "recursive": True},
            {"user": {"name": "Ada"}},
        ),
        ({"operation": "omit", "keys": ["user"]}, {"id": 1}),
        (
            {"operation": "omit", "keys": ["city"], "recursive": True},
            {"user": {"name": "Ada", "address": {}}, "id": 1},
        ),
        (
            {"operation": "renameKeys", "renameMap": {"id": "userId", "name": "n"}},
            {"user": NESTED["user"], "userId": 1},
        ),
        (
            {"operation": "renameKeys", "renameMap": {"name": "n", "city": ""}, "recursive": True},
            {"user": {"n": "Ada", "address": {"city": "London"}}, "id": 1},
        ),
    ],
)
def test_transform_object_operations(params: dict[str, Any], result: Any) -> None:
    edge, state = call(TransformObjectNode(), {**params, "data": NESTED})
    assert state["transformedObject"] == result
    assert edge.name == "success"
    assert edge.data == {
        "result": result,
        "operation": params["operation"],
        "message": f"Successfully applied {params['operation']} transformation",
    }


def test_transform_object_unflattens() -> None:
    data = {"user.name": "Ada", "user.address.city": "London", "id": 1}
    _, state = call(TransformObjectNode(), {"operation": "unflatten", "data": data})
    assert state["transformedObject"] == NESTED


def test_transform_object_reads_in_data_then_the_state() -> None:
    node = TransformObjectNode()
    _, state = call(node, {"operation": "flatten"}, edge_data={"data": {"a": {"b": 1}}})
    assert state["transformedObject"] == {"a.b": 1}
    state = {"a": {"b": 2}, "_lastStateSet": {"path": "a"}}
    _, state = call(node, {"operation": "flatten"}, state)
    assert state["transformedObject"] == {"a.b": 2}  # no _ keys
    _, state = call(node, {"operation": "flatten"}, state)
    assert state["transformedObject"] == {"a.b": 2}  # its own output is not read back


def test_transform_object_leaves_non_objects_alone() -> None:
    _, state = call(TransformObjectNode(), {"operation": "flatten", "data": [1, {"a": 1}]})
    assert state["transformedObject"] == [1, {"a": 1}]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "operation"),
        ({"operation": "explode", "data": {}}, "Unknown operation: explode"),
        ({"operation": "pick", "data": {}}, "keys"),
        ({"operation": "omit", "keys": "a", "data": {}}, "keys"),
        ({"operation": "renameKeys", "renameMap": ["a"], "data": {}}, "renameMap"),
        ({"operation": "flatten", "separator": "", "data": {}}, "separator"),
        ({"operation": "flatten", "depth": -1, "data": {}}, "depth"),
        ({"operation": "flatten", "data": None}, "No data available"),
    ],
)
def test_transform_object_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(TransformObjectNode(), params)
    assert words in error_of(edge)
    assert "transformedObject" not in state


# -- objectUtilities ----------------------------------------------------------------------------


def util(params: dict[str, Any], state: dict[str, Any]) -> tuple[Edge, dict[str, Any]]:
    return call(ObjectUtilitiesNode(), params, state)


@pytest.mark.parametrize(
    ("operation", "extra", "result"),
    [
        ("keys", {}, ["name", "age", "address"]),
        ("values", {}, ["Ada", 36, {"city": "London"}]),
        ("entries", {}, [["name", "Ada"], ["age", 36], ["address", {"city": "London"}]]),
        ("has_field", {"path": "address.city"}, True),
        ("is_empty", {}, False),
        ("clone", {}, {"name": "Ada", "age": 36, "address": {"city": "London"}}),
        ("deep_clone", {}, {"name": "Ada", "age": 36, "address": {"city": "London"}}),
        ("get_nested", {"path": "address.city"}, "London"),
        (
            "set_nested",
            {"path": "address.zip.code", "value": "N1"},
            {"name": "Ada", "age": 36, "address": {"city": "London", "zip": {"code": "N1"}}},
        ),
        ("delete_nested", {"path": "address.city"}, {"name": "Ada", "age": 36, "address": {}}),
        ("delete_nested", {"path": "nope.city"}, {"name": "Ada", "age": 36, "address": {}}),
    ],
)
def test_object_utilities_operations(operation: str, extra: dict[str, Any], result: Any) -> None:
    user = {"name": "Ada", "age": 36, "address": {"city": "London"}}
    if operation == "delete_nested" and extra["path"] == "nope.city":
        user["address"] = {}
    state = {"data": {"user": user}}
    edge, state = util({"operation": operation, "field": "data.user", **extra}, state)
    assert edge == Edge(
        "success",
        {
            "result": result,
            "operation": operation,
            "field": "data.user",
            "outputField": f"data.user_{operation}",
        },
    )
    assert state["data"][f"user_{operation}"] == result
    assert state["objectUtilResult"] == result
    assert state["data"]["user"] == user  # never changed in place


def test_object_utilities_clone_is_shallow_and_deep_clone_is_not() -> None:
    state = {"obj": {"inner": {"x": 1}}}
    _, state = util({"operation": "clone", "field": "obj", "outputField": "c"}, state)
    _, state = util({"operation": "deep_clone", "field": "obj", "outputField": "d"}, state)
    assert state["c"] is not state["obj"] and state["c"]["inner"] is state["obj"]["inner"]
    assert state["d"]["inner"] is not state["obj"]["inner"]


def test_object_utilities_lists_act_as_javascript_arrays() -> None:
    state = {"tags": ["a", "b"], "text": "plain"}
    _, state = util({"operation": "keys", "field": "tags", "outputField": "k"}, state)
    assert state["k"] == ["0", "1"]
    _, state = util({"operation": "keys", "field": "text", "outputField": "k"}, state)
    assert state["k"] == []
    _, state = util({"operation": "is_empty", "field": "text", "outputField": "e"}, state)
    assert state["e"] is True


@pytest.mark.parametrize(
    ("operation", "overwrite", "result"),
    [
        ("merge", True, {"a": 1, "n": {"y": 2}, "b": 3}),
        ("merge", False, {"a": 1, "n": {"x": 1}, "b": 3}),
        ("deep_merge", True, {"a": 1, "n": {"x": 1, "y": 2}, "b": 3}),
    ],
)
def test_object_utilities_merges(operation: str, overwrite: bool, result: Any) -> None:
    state = {"left": {"a": 1, "n": {"x": 1}}, "right": {"n": {"y": 2}, "b": 3}}
    params = {"operation": operation, "field": "left", "mergeWith": "right", "overwrite": overwrite}
    params["outputField"] = "merged"
    edge, state = util(params, state)
    assert edge.name == "success"
    assert state["merged"] == result


def test_object_utilities_not_found_edges() -> None:
    state = {"obj": {"a": None}}
    edge, state = util({"operation": "has_field", "field": "obj", "path": "b"}, state)
    assert edge.name == "not_found"
    assert edge.data is not None and edge.data["result"] is False
    assert state["obj_has_field"] is False
    state["out"] = "stale"
    params = {"operation": "get_nested", "field": "obj", "path": "b.c", "outputField": "out"}
    edge, state = util(params, state)
    assert edge.name == "not_found"
    assert "out" not in state and "objectUtilResult" not in state
    edge, state = util({"operation": "get_nested", "field": "obj", "path": "a"}, state)
    assert edge.name == "success" and state["obj_get_nested"] is None  # null is found


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"field": "obj"}, "operation"),
        ({"operation": "keys"}, "field"),
        ({"operation": "keys", "field": "nope"}, "Field not found: nope"),
        ({"operation": "shuffle", "field": "obj"}, "Unknown operation"),
        ({"operation": "has_field", "field": "obj"}, "path"),
        ({"operation": "get_nested", "field": "obj", "path": 3}, "path"),
        ({"operation": "set_nested", "field": "obj", "path": "a"}, "value"),
        ({"operation": "merge", "field": "obj"}, "mergeWith"),
        ({"operation": "deep_merge", "field": "obj", "mergeWith": "nope"}, "mergeWith"),
        ({"operation": "keys", "field": "obj", "outputField": 5}, "outputField"),
        ({"operation": "set_nested", "field": "list", "path": "a", "value": 1}, "list"),
    ],
)
def test_object_utilities_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = util(params, {"obj": {"a": 1}, "list": [1]})
    assert words in error_of(edge)
    assert "objectUtilResult" not in state


# -- mathOperations -----------------------------------------------------------------------------

NUMBERS = {"a": 7, "b": "2", "neg": -2.5, "n": {"x": 9}, "empty": None, "text": "abc"}


@pytest.mark.parametrize(
    ("mode", "operation", "extra", "result"),
    [
        ("multiple_fields", "add", {"field1": "a", "field2": "b"}, 9),
        ("multiple_fields", "subtract", {"field1": "a", "value": 10}, -3),
        ("multiple_fields", "multiply", {"field1": "a", "field2": "n.x"}, 63),
        ("multiple_fields", "divide", {"field1": "a", "field2": "b"}, 3.5),
        ("multiple_fields", "power", {"field1": "b", "value": 10}, 1024),
        ("multiple_fields", "modulo", {"field1": "a", "field2": "b"}, 1),
        ("multiple_fields", "modulo", {"field1": "neg", "value": 2}, -0.5),
        ("single_field", "sqrt", {"field1": "n.x"}, 3),
        ("single_field", "round", {"field1": "neg"}, -2),
        ("single_field", "ceil", {"field1": "neg"}, -2),
        ("single_field", "floor", {"field1": "neg"}, -3),
        ("single_field", "abs", {"field1": "neg"}, 2.5),
        ("aggregate", "sum", {"fields": ["a", "b", "empty", "missing"]}, 9),
        ("aggregate", "add", {"fields": ["a", "n.x"]}, 16),
        ("aggregate", "average", {"fields": ["a", "b"]}, 4.5),
        ("aggregate", "min", {"fields": ["a", "neg"]}, -2.5),
        ("aggregate", "max", {"fields": ["a", "n.x"]}, 9),
        ("aggregate", "multiply", {"fields": ["a", "b"]}, 14),
    ],
)
def test_math_operations(mode: str, operation: str, extra: dict[str, Any], result: float) -> None:
    params = {"operation": operation, "mode": mode, "outputField": "out", **extra}
    edge, state = call(MathOperationsNode(), params, dict(NUMBERS))
    assert state["out"] == result
    assert edge == Edge(
        "success", {"result": result, "outputField": "out", "operation": operation, "mode": mode}
    )
    summary = state["mathOperationsResult"]
    assert summary["result"] == result and summary["mode"] == mode
    assert summary["timestamp"].endswith("Z") or summary["timestamp"].endswith("+00:00")


def test_math_operations_defaults_and_precision() -> None:
    params = {"operation": "divide", "field1": "a", "value": 3, "precision": 2}
    _, state = call(MathOperationsNode(), params, dict(NUMBERS))
    assert state["result"] == 2.33  # default outputField, default multiple_fields mode
    params = {"operation": "multiply", "field1": "a", "value": 1.5, "precision": 0}
    _, state = call(MathOperationsNode(), params, dict(NUMBERS))
    assert state["result"] == 11 and type(state["result"]) is int  # 10.5 rounds half up


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"field1": "a", "value": 1}, "operation"),
        ({"operation": "cube", "field1": "a"}, "Unknown operation"),
        ({"operation": "add", "mode": "matrix", "field1": "a"}, "Invalid mode"),
        ({"operation": "add", "field1": "a", "value": 1, "outputField": ""}, "outputField"),
        ({"operation": "add", "field1": "a", "value": 1, "precision": -1}, "precision"),
        ({"operation": "add", "value": 1}, "field1"),
        ({"operation": "add", "field1": "missing", "value": 1}, "field1"),
        ({"operation": "add", "field1": "text", "value": 1}, "not a valid number"),
        ({"operation": "add", "field1": "a"}, "field2 or value"),
        ({"operation": "add", "field1": "a", "value": "1"}, "value must be a number"),
        ({"operation": "divide", "field1": "a", "value": 0}, "Division by zero"),
        ({"operation": "modulo", "field1": "a", "value": 0}, "Modulo by zero"),
        ({"operation": "power", "field1": "a", "value": 1000}, "too large"),
        ({"operation": "power", "field1": "neg", "value": 0.5}, "not a real number"),
        ({"operation": "sqrt", "mode": "single_field"}, "field1"),
        ({"operation": "sqrt", "mode": "single_field", "field1": "neg"}, "negative"),
        ({"operation": "add", "mode": "single_field", "field1": "a"}, "not supported"),
        ({"operation": "sum", "field1": "a", "value": 1}, "not supported"),
        ({"operation": "sum", "mode": "aggregate", "fields": []}, "fields"),
        ({"operation": "sum", "mode": "aggregate", "fields": ["empty"]}, "fields"),
        ({"operation": "sum", "mode": "aggregate", "fields": ["a", "text"]}, "fields[1]"),
        ({"operation": "sqrt", "mode": "aggregate", "fields": ["a"]}, "not supported"),
    ],
)
def test_math_operations_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(MathOperationsNode(), params, dict(NUMBERS))
    assert words in error_of(edge)
    assert "mathOperationsResult" not in state
