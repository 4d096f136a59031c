"""Mistyped node parameters (issue 13, item 6): the message names the parameter, the node, what
was expected and what came — never only Python's ``'int' object is not subscriptable``."""

from __future__ import annotations

import asyncio
from typing import Any

from workscript_jupyter.engine import (
    Edge,
    Execution,
    Node,
    NodeContext,
    NodeMetadata,
    ParamSpec,
    RunResult,
    parse_workflow,
)
from workscript_jupyter.nodes import builtin_registry


class Picky(Node):
    """Indexes its parameters as a careless node would."""

    metadata = NodeMetadata(
        id="picky",
        name="picky",
        description="test",
        inputs=(
            ParamSpec("items", "object[]", "rows", True),
            ParamSpec("field", "string", "a field name"),
            ParamSpec("limit", "number", "how many"),
        ),
    )

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        field = params.get("field", "id")
        rows = [row[field] for row in params["items"][: params.get("limit", 10)]]
        return Edge("success", {"rows": rows, "lookup": params.get("lookup", {})["x"]})


class Strict(Node):
    metadata = NodeMetadata(id="strict", name="strict", description="test")

    async def execute(self, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        raise ValueError("strict wants nothing")


REGISTRY = builtin_registry(plugins=False)
REGISTRY.register(Picky)
REGISTRY.register(Strict)


def run(step: Any, state: dict[str, Any] | None = None) -> RunResult:
    document = {
        "id": "types",
        "name": "types",
        "version": "1.0.0",
        "initialState": state or {},
        "workflow": [step],
    }
    workflow = parse_workflow(document, REGISTRY)
    return asyncio.run(Execution(workflow, REGISTRY).run())


def failure(result: RunResult) -> tuple[str, str]:
    assert result.status == "failed" and result.error is not None
    return result.error.code, result.error.message


def test_a_number_where_an_array_belongs() -> None:
    code, message = failure(run({"picky": {"items": 5}}))
    assert code == "INVALID_NODE_PARAMETER"
    assert "parameter 'items' of node 'picky' at /workflow/0/picky" in message
    assert "must be an array of objects, got a number: 5" in message
    assert "not subscriptable" in message  # Python's words stay, as the cause


def test_an_object_where_a_string_belongs_from_the_state() -> None:
    code, message = failure(run({"picky": {"items": [{"id": 1}], "field": "$.f"}}, {"f": {"a": 1}}))
    assert code == "INVALID_NODE_PARAMETER"
    assert "parameter 'field'" in message and "must be a string, got an object" in message


def test_a_string_where_a_number_belongs() -> None:
    code, message = failure(run({"picky": {"items": [{"id": 1}], "limit": "ten"}}))
    assert code == "INVALID_NODE_PARAMETER"
    assert "parameter 'limit'" in message and 'must be a number, got a string: "ten"' in message


def test_without_a_mistyped_parameter_the_node_and_python_error_are_named() -> None:
    code, message = failure(run({"picky": {"items": [{"id": 1}]}}))
    assert code == "NODE_EXECUTION_ERROR"
    assert message.startswith("node 'picky' at /workflow/0/picky failed: KeyError: 'x'")


def test_the_error_edge_gets_the_clear_message() -> None:
    result = run({"picky": {"items": "abc", "error?": None}})
    assert result.status == "completed"
    context = result.final_state["_edgeContext"]
    assert context["type"] == "NodeParameterError"
    assert "parameter 'items' of node 'picky'" in context["error"]


def test_a_nodes_own_value_error_is_kept() -> None:
    code, message = failure(run("strict"))
    assert (code, message) == ("NODE_EXECUTION_ERROR", "strict wants nothing")


def test_builtin_iterators_name_their_mistyped_key() -> None:
    code, message = failure(run({"range": {"stop": 3, "valueKey": {"a": 1}}}))
    assert code == "INVALID_NODE_PARAMETER"
    assert "parameter 'valueKey' of node 'range'" in message
    assert "must be a string, got an object" in message
    code, message = failure(run({"while": {"condition": "true", "iterationKey": [1]}}))
    assert "parameter 'iterationKey' of node 'while'" in message


def test_param_spec_types_in_words_and_checks() -> None:
    assert ParamSpec("v", "number[]", "").expected() == "an array of numbers"
    assert ParamSpec("v", "string|object", "").expected() == "a string or an object"
    assert ParamSpec("v", "any[]", "").expected() == "an array"
    spec = ParamSpec("v", "number[]", "")
    assert spec.accepts([1, 2.5]) and not spec.accepts([1, "2"])
    assert spec.accepts([1, "2"], strict=False) and not spec.accepts(5, strict=False)
    assert ParamSpec("v", "string", "").accepts(5, strict=False)  # coerced, as JavaScript does
    assert not ParamSpec("v", "string", "").accepts({}, strict=False)
    assert ParamSpec("v", "any", "").accepts(object())
