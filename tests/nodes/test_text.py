"""Text nodes: stringOperations, extractText, jsonExtract, and the guarded regular expressions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from workscript_jupyter.engine import Edge, Node, NodeContext
from workscript_jupyter.nodes import patterns
from workscript_jupyter.nodes.text import NODES, StringOperationsNode
from workscript_jupyter.nodes.text_extract import ExtractTextNode
from workscript_jupyter.nodes.text_json import JsonExtractNode
from workscript_jupyter.nodes.text_regex import (
    MAX_PATTERN_LENGTH,
    MAX_TEXT_LENGTH,
    PatternError,
    compile_user_regex,
)


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


def doc(steps: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "Test", "version": "1.0.0", "workflow": steps}


@pytest.mark.parametrize("node", NODES, ids=lambda n: n.metadata.id)
def test_every_example_runs_through_the_engine(node: type[Node], run: Any) -> None:
    state = {
        "title": "Hello World!",
        "message": "write to ada@example.com",
        "user": {"profile": {"name": "Ada"}},
    }
    result = run(doc([{node.metadata.id: dict(node.metadata.example)}]), state)
    assert result.status == "completed"
    assert result.timeline[0].edge == "success"


# -- stringOperations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "value", "extra", "result"),
    [
        ("trim", "  hi \n", {}, "hi"),
        ("uppercase", "hi", {}, "HI"),
        ("lowercase", "Hi", {}, "hi"),
        ("capitalize", "hELLO wORLD", {}, "Hello world"),
        ("titleCase", "hELLO  wORLD", {}, "Hello  World"),
        ("replace", "a-b-c", {"searchValue": "-", "replaceValue": "+"}, "a+b-c"),
        ("replaceAll", "a.b.c", {"searchValue": "."}, "abc"),
        ("replaceRegex", "a1b22", {"searchValue": r"\d+", "replaceValue": "#"}, "a#b#"),
        (
            "replaceRegex",
            "Ada L",
            {"searchValue": r"(\w+) (\w)", "replaceValue": "$2. $1"},
            "L. Ada",
        ),
        ("replaceRegex", "x", {"searchValue": "(?<c>x)", "replaceValue": "[$<c>$&$$]"}, "[xx$]"),
        ("split", "a,b,,c", {"separator": ","}, ["a", "b", "", "c"]),
        ("split", "abc", {"separator": ""}, ["a", "b", "c"]),
        ("substring", "abcdef", {"start": 4, "end": 1}, "bcd"),
        ("substring", "abcdef", {"start": -3}, "abcdef"),
        ("slice", "abcdef", {"start": -3}, "def"),
        ("slice", "abcdef", {"start": 1, "end": -1}, "bcde"),
        ("concat", "a", {"values": ["b", 1, True]}, "ab1true"),
        ("pad", "7", {"length": 3, "padChar": "0", "side": "left"}, "007"),
        ("pad", "ab", {"length": 5}, "ab   "),
        ("pad", "ab", {"length": 7, "padChar": "*", "side": "both"}, "**ab***"),
        ("pad", "ab", {"length": 5, "padChar": "xy"}, "abxyx"),
        ("pad", "abcdef", {"length": 3}, "abcdef"),
        ("stripHTML", "<p>a &amp;lt; b&nbsp;<b>c</b></p>", {}, "a < b c"),
        ("slugify", "  Héllo, World -- Again! ", {}, "hllo-world-again"),
    ],
)
def test_string_operations(operation: str, value: Any, extra: dict[str, Any], result: Any) -> None:
    params = {"operation": operation, "field": "doc.text", "outputField": "out", **extra}
    edge, state = call(StringOperationsNode(), params, {"doc": {"text": value}})
    assert state["out"] == result
    assert state["stringOperationResult"] == result
    assert edge == Edge(
        "success",
        {"result": result, "field": "out", "operation": operation, "originalValue": value},
    )


def test_string_operations_write_back_to_the_field_by_default_and_read_as_javascript() -> None:
    state = {"doc": {"n": 2.0, "tags": ["a", None, 3]}}
    _, state = call(StringOperationsNode(), {"operation": "trim", "field": "doc.n"}, state)
    assert state["doc"]["n"] == "2"
    _, state = call(StringOperationsNode(), {"operation": "uppercase", "field": "doc.tags"}, state)
    assert state["doc"]["tags"] == "A,,3"
    params = {"operation": "lowercase", "field": "doc.n", "outputField": "new.deep.key"}
    _, state = call(StringOperationsNode(), params, state)
    assert state["new"] == {"deep": {"key": "2"}}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"field": "t"}, "operation"),
        ({"operation": "trim"}, "field"),
        ({"operation": "rot13", "field": "t"}, "Unknown operation"),
        ({"operation": "trim", "field": "missing"}, "null or undefined: missing"),
        ({"operation": "trim", "field": "nothing"}, "null or undefined"),
        ({"operation": "replace", "field": "t"}, "searchValue"),
        ({"operation": "replaceAll", "field": "t"}, "searchValue"),
        ({"operation": "replaceRegex", "field": "t"}, "searchValue"),
        ({"operation": "replaceRegex", "field": "t", "searchValue": "(a"}, "searchValue"),
        ({"operation": "split", "field": "t"}, "separator"),
        ({"operation": "substring", "field": "t"}, "start"),
        ({"operation": "slice", "field": "t", "start": "1"}, "start must be a number"),
        ({"operation": "concat", "field": "t"}, "values"),
        ({"operation": "concat", "field": "t", "values": "x"}, "values"),
        ({"operation": "pad", "field": "t"}, "length"),
        ({"operation": "pad", "field": "t", "length": 10**9}, "length must be at most"),
    ],
)
def test_string_operations_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(StringOperationsNode(), params, {"t": "text", "nothing": None})
    assert words in error_of(edge)
    assert "stringOperationResult" not in state


# -- extractText --------------------------------------------------------------------------------

TEXT = (
    "Mail ada@example.com or bob@test.org, again ada@example.com. "
    "See https://example.com/a and http://x.io. Call +1 555-123-4567 or (555) 987-6543. "
    "Order [A1] then [B2]."
)


@pytest.mark.parametrize(
    ("params", "result", "count"),
    [
        ({"method": "extractAll", "extractType": "email"}, ["ada@example.com", "bob@test.org"], 2),
        (
            {"method": "extractAll", "extractType": "url"},
            ["https://example.com/a", "http://x.io."],
            2,
        ),
        (
            {"method": "extractAll", "extractType": "phone"},
            ["+1 555-123-4567", " (555) 987-6543"],  # as the original: the space too
            2,
        ),
        ({"method": "extractAll", "pattern": r"\[(\w)\d\]"}, ["A", "B"], 2),
        ({"method": "regex", "pattern": r"\[(\w+)\]"}, ["A1", "B2"], 2),
        ({"method": "regex", "pattern": r"ORDER \[\w+\]", "flags": "i"}, ["Order [A1]"], 1),
        ({"method": "regex", "pattern": r"(?<l>[AB])\d", "flags": "gi"}, ["A", "B"], 2),
        ({"method": "between", "startDelimiter": "[", "endDelimiter": "]"}, ["A1", "B2"], 2),
        (
            {"method": "extractSpecific", "extractType": "email", "occurrence": 2},
            "ada@example.com",
            1,
        ),
        ({"method": "extractSpecific", "pattern": r"\[\w+\]", "occurrence": 1}, "[B2]", 1),
    ],
)
def test_extract_text(params: dict[str, Any], result: Any, count: int) -> None:
    full = {"field": "mail.body", "outputField": "found", **params}
    edge, state = call(ExtractTextNode(), full, {"mail": {"body": TEXT}})
    assert state["extractedText"] == result
    assert state["found"] == result
    assert edge == Edge(
        "success",
        {"extracted": result, "matches": count, "field": "mail.body", "method": params["method"]},
    )


def test_extract_text_between_does_not_cross_lines() -> None:
    params = {"method": "between", "field": "t", "startDelimiter": "<", "endDelimiter": ">"}
    _, state = call(ExtractTextNode(), params, {"t": "<a\nb> <c> <<d>"})
    assert state["extractedText"] == ["c", "<d"]


def test_extract_text_not_found_edges() -> None:
    params = {"method": "extractAll", "field": "t", "extractType": "email"}
    edge, state = call(ExtractTextNode(), params, {"t": "no mail here"})
    assert edge == Edge(
        "not_found",
        {"field": "t", "method": "extractAll", "message": "No matches found", "count": 0},
    )
    assert state["extractedText"] == []
    params = {"method": "extractSpecific", "field": "t", "extractType": "email", "occurrence": 1}
    edge, state = call(ExtractTextNode(), params, {"t": "a@b.co"})
    assert edge.name == "not_found" and state["extractedText"] == []
    edge, state = call(ExtractTextNode(), {"method": "regex", "field": "nope", "pattern": "x"}, {})
    assert edge.name == "not_found" and "extractedText" not in state


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"field": "t"}, "method"),
        ({"method": "grep", "field": "t"}, "Invalid method"),
        ({"method": "regex"}, "field"),
        ({"method": "regex", "field": "t"}, "pattern"),
        (
            {"method": "regex", "field": "t", "pattern": "(unclosed"},
            "Invalid regex pattern in pattern",
        ),
        ({"method": "regex", "field": "t", "pattern": "x", "flags": "gy"}, "flags"),
        ({"method": "regex", "field": "t", "pattern": "x" * (MAX_PATTERN_LENGTH + 1)}, "pattern"),
        ({"method": "between", "field": "t", "startDelimiter": "["}, "endDelimiter"),
        ({"method": "extractAll", "field": "t"}, "pattern"),
        ({"method": "extractAll", "field": "t", "extractType": "ssn"}, "extractType"),
        (
            {"method": "extractSpecific", "field": "t", "extractType": "email", "occurrence": -1},
            "occurrence",
        ),
        ({"method": "regex", "field": "t", "pattern": "x", "outputField": 3}, "outputField"),
    ],
)
def test_extract_text_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(ExtractTextNode(), params, {"t": "text [x]"})
    assert words in error_of(edge)
    assert "extractedText" not in state


def test_extract_text_refuses_a_text_over_the_limit() -> None:
    params = {"method": "regex", "field": "t", "pattern": "a"}
    edge, _ = call(ExtractTextNode(), params, {"t": "a" * (MAX_TEXT_LENGTH + 1)})
    assert "field" in error_of(edge) and str(MAX_TEXT_LENGTH) in error_of(edge)


# -- guarded regular expressions ----------------------------------------------------------------


def test_a_catastrophic_pattern_ends_on_the_error_edge_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(patterns, "LIMITS", replace(patterns.LIMITS, match_seconds=0.2))
    params = {"operation": "replaceRegex", "field": "t", "searchValue": "(a|aa)+$"}
    started = time.monotonic()
    edge, state = call(StringOperationsNode(), params, {"t": "a" * 80 + "b"})
    assert time.monotonic() - started < 5
    assert "searchValue" in error_of(edge) and "longer than" in error_of(edge)
    assert state["t"] == "a" * 80 + "b"


def test_compile_user_regex_translates_javascript_syntax() -> None:
    regex = compile_user_regex(r"(?<q>['\"])\w+\k<q>", "g")
    assert [m.group(0) for m in regex.matches("'a' \"b\" 'c\"")] == ["'a'", '"b"']
    assert compile_user_regex("a", "").is_global  # no flags means the default "g"
    with pytest.raises(PatternError, match="myparam"):
        compile_user_regex("[", param="myparam")


# -- jsonExtract --------------------------------------------------------------------------------

DATA = {"user": {"profile": {"name": "Ada", "nick": None}}, "users": [{"name": "A"}, {"name": "B"}]}


@pytest.mark.parametrize(
    ("method", "path", "value"),
    [
        ("dot_notation", "user.profile.name", "Ada"),
        ("dot_notation", "users.1.name", "B"),
        ("dot_notation", "user.profile.nick", None),
        ("bracket_notation", "users[1].name", "B"),
        ("bracket_notation", "user['profile'][\"name\"]", "Ada"),
        ("simple_path", "users[0].name", "A"),
        ("simple_path", "user.profile", {"name": "Ada", "nick": None}),
    ],
)
def test_json_extract(method: str, path: str, value: Any) -> None:
    params = {"path": path, "method": method, "outputField": "out"}
    edge, state = call(JsonExtractNode(), params, {"data": DATA})
    assert state["out"] == value
    assert edge == Edge(
        "success",
        {
            "value": value,
            "path": path,
            "method": method,
            "outputField": "out",
            "message": "Successfully extracted value",
        },
    )


def test_json_extract_prefers_in_data_then_the_state() -> None:
    _, state = call(JsonExtractNode(), {"path": "a"}, {"a": 1}, edge_data={"data": {"a": 2}})
    assert state["extractedValue"] == 2
    _, state = call(JsonExtractNode(), {"path": "a"}, {"a": 1})
    assert state["extractedValue"] == 1


def test_json_extract_not_found_with_and_without_fallback() -> None:
    edge, state = call(JsonExtractNode(), {"path": "a.b", "fallbackValue": 0}, {"a": {}})
    assert edge == Edge(
        "not_found",
        {
            "value": 0,
            "path": "a.b",
            "usedFallback": True,
            "message": "Path not found, used fallback value",
        },
    )
    assert state["extractedValue"] == 0
    edge, state = call(JsonExtractNode(), {"path": "a.b"}, {"a": "text"})
    assert edge.name == "not_found" and "extractedValue" not in state
    edge, state = call(JsonExtractNode(), {"path": "a"}, {"data": None, "a": 1})
    assert edge.name == "not_found"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "path"),
        ({"path": ["a"]}, "path"),
        ({"path": "a", "method": "jsonpath"}, "Unknown method"),
        ({"path": "a", "outputField": ""}, "outputField"),
    ],
)
def test_json_extract_bad_input_takes_error(params: dict[str, Any], words: str) -> None:
    edge, state = call(JsonExtractNode(), params, {"a": 1})
    assert words in error_of(edge)
    assert "extractedValue" not in state
