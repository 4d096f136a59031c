"""The bounded JSON and YAML reader and the JSON writer (engine/documents.py, issue 13 item 3)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from workscript_jupyter.engine import load_document
from workscript_jupyter.engine.documents import (
    MAX_DEPTH,
    compose_yaml,
    dump_json,
    load_json,
    load_yaml,
    plain_json,
)
from workscript_jupyter.errors import (
    BadRequestError,
    DocumentError,
    DocumentLimitError,
    ValueTooDeepError,
    WorkflowValidationError,
)

DEEP = "[" * 10_000 + "]" * 10_000


def _bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines)


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


# -- JSON in -------------------------------------------------------------------------------------


def test_deep_json_is_refused_with_the_position_before_any_recursion():
    with pytest.raises(DocumentLimitError) as caught:
        load_json(DEEP, source="the body")
    error = caught.value
    assert isinstance(error, BadRequestError)  # HTTP 400
    assert (
        error.message
        == "the body: nested more than 128 levels deep at line 1 column 129 (char 128)"
    )
    assert error.details == {"line": 1, "column": 129, "position": 128}


def test_the_depth_limit_is_exact_and_ignores_brackets_in_strings():
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) == _nested(MAX_DEPTH)
    with pytest.raises(DocumentLimitError):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    text = json.dumps({"a": "[" * 500, "b": '{"\\"[[['})
    assert load_json(text) == {"a": "[" * 500, "b": '{"\\"[[['}
    nested = '{\n  "a": ' + "[" * 200 + "]" * 200 + "}"
    with pytest.raises(DocumentLimitError) as caught:
        load_json(nested, source="x.json")
    assert caught.value.details == {"line": 2, "column": 135, "position": 136}


@pytest.mark.parametrize(
    ("text", "token", "position"),
    [
        ('{"a": NaN}', "NaN", 6),
        ("[1, Infinity]", "Infinity", 4),
        ('{"a": "NaN", "b": -Infinity}', "-Infinity", 18),
        ("[1e999]", "1e999", 1),
    ],
)
def test_nan_and_infinities_are_refused_where_they_are(text, token, position):
    with pytest.raises(DocumentLimitError) as caught:
        load_json(text)
    assert caught.value.message.startswith(f"the body: {token} is not a JSON number")
    assert caught.value.details["position"] == position


def test_syntax_and_encoding_errors_name_the_place():
    with pytest.raises(DocumentError) as caught:
        load_json('{"a": 1,\n "b": }')
    assert not isinstance(caught.value, DocumentLimitError)
    assert caught.value.details == {"line": 2, "column": 7, "position": 15}
    assert isinstance(caught.value.__cause__, json.JSONDecodeError)
    with pytest.raises(DocumentError, match="not UTF-8 text"):
        load_json(b'{"a": "\xff"}')
    with pytest.raises(DocumentLimitError, match="more than 4300 digits"):
        load_json("1" * 5000)


def test_ordinary_json_reads_as_json_loads_does():
    text = '{"a": [1, 2.5, "x", null, true], "b": {"c": -0.0}}'
    assert load_json(text) == json.loads(text)
    assert load_json(text.encode()) == json.loads(text)


# -- YAML in -------------------------------------------------------------------------------------


def test_a_billion_laughs_is_refused_when_read():
    with pytest.raises(DocumentLimitError, match="aliases expand to more than 1,000,000"):
        load_yaml(_bomb())
    small = load_yaml(_bomb(levels=3))  # 1,000 values: fine
    assert len(small["l2"]) == 10 and small["l2"][0][0][0] == "lol"


def test_deep_recursive_and_non_finite_yaml_is_refused():
    with pytest.raises(DocumentLimitError, match="nested more than 128 levels deep at line 1"):
        load_yaml("a: " + DEEP)
    with pytest.raises(DocumentLimitError, match="nested more than 128 levels deep"):
        load_yaml("\n".join("  " * i + f"k{i}:" for i in range(200)) + " 1")
    with pytest.raises(DocumentLimitError, match="an alias refers to itself"):
        load_yaml("a: &a [1, *a]")
    alias_depth = "a: &a " + "[" * 100 + "]" * 100 + "\nb: " + "[" * 30 + "*a" + "]" * 30
    with pytest.raises(DocumentLimitError, match="through an alias"):
        load_yaml(alias_depth)
    for literal in (".nan", ".inf", "-.Inf"):
        with pytest.raises(DocumentLimitError, match="is not a JSON number"):
            load_yaml(f"x: {literal}")
    assert load_yaml("a: &x [1]\nb: *x\nc: 1.5") == {"a": [1], "b": [1], "c": 1.5}
    assert compose_yaml("") is None and load_yaml("") is None


def test_load_document_uses_the_same_limits():
    for text, expected in [
        (DEEP, "<workflow>: nested more than 128 levels deep"),
        ('{"id": NaN}', "NaN is not a JSON number"),
        (_bomb(), "aliases expand to more than"),
        ("a: " + DEEP, "nested more than 128 levels deep"),
    ]:
        with pytest.raises(WorkflowValidationError) as caught:
            load_document(text)
        (issue,) = caught.value.issues
        assert issue.code == "PARSE_ERROR" and expected in issue.message, issue.message
    # brackets in a YAML single-quoted string are not JSON nesting
    text = "id: a\nnote: '" + "[" * 300 + "'\n"
    assert load_document(text)["note"] == "[" * 300


# -- JSON out ------------------------------------------------------------------------------------


def test_non_finite_floats_are_written_null():
    value = {"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": (1, 2), 3: "x"}
    text = dump_json(value)
    assert json.loads(text, parse_constant=_refuse) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": [1, 2],
        "3": "x",
    }
    assert dump_json({"a": 1}) == json.dumps({"a": 1})


def _refuse(name: str) -> Any:
    raise AssertionError(f"{name} written")


def test_too_deep_or_circular_values_fail_cleanly():
    with pytest.raises(ValueTooDeepError, match="nested more than 512 levels"):
        dump_json({"a": math.nan, "b": _nested(10_000)})
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueTooDeepError, match="contains itself"):
        dump_json(circular)
    shared = [1]
    assert dump_json([shared, shared]) == "[[1], [1]]"  # shared is not circular
    assert plain_json(_nested(10_000), too_deep="…")[0][0] is not None
    assert dump_json({"when": object()}, default=lambda _: "x") == '{"when": "x"}'
