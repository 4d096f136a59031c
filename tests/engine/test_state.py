"""State paths, parameter compilation and template text (WORKFLOW-LANGUAGE.md §3)."""

from __future__ import annotations

import pytest

from workscript_jupyter.engine.state import (
    MISSING,
    compile_value,
    format_path,
    get_path,
    parse_path,
    set_path,
    to_text,
)
from workscript_jupyter.errors import StateReferenceError

# -- parse_path / format_path ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$.a", ("a",)),
        ("$.a.b.c", ("a", "b", "c")),
        ("$.items[0].name", ("items", 0, "name")),
        ("$.m[1][2]", ("m", 1, 2)),
        ("$.snake_case-key.x", ("snake_case-key", "x")),
        ("$.a.0", ("a", "0")),
    ],
)
def test_parse_path(text: str, expected: tuple) -> None:
    assert parse_path(text) == expected


@pytest.mark.parametrize("text", ["a.b", "$.", "$.a..b", "$.a b", "$a", "$.a[x]", "$.a.", ""])
def test_parse_path_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(StateReferenceError) as info:
        parse_path(text)
    assert repr(text) in str(info.value)
    assert info.value.code == "STATE_REFERENCE_ERROR"


def test_parse_path_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_path("not a path")


def test_format_path() -> None:
    assert format_path(("a", 0, "b")) == "a[0].b"
    assert format_path(("x",)) == "x"
    assert format_path(("a", 1, 2)) == "a[1][2]"


# -- get_path -----------------------------------------------------------------------------------


STATE = {"a": {"b": {"c": 3}}, "items": [{"name": "x"}, {"name": "y"}], "zero": 0, "nul": None}


def test_get_path_nested_and_indexed() -> None:
    assert get_path(STATE, ("a", "b", "c")) == 3
    assert get_path(STATE, ("items", 1, "name")) == "y"
    assert get_path(STATE, ("items", "0", "name")) == "x"  # digits as names index lists too
    assert get_path(STATE, ("a", "b")) == {"c": 3}


def test_get_path_keeps_falsy_values() -> None:
    assert get_path(STATE, ("zero",)) == 0
    assert get_path(STATE, ("nul",)) is None


@pytest.mark.parametrize(
    "path",
    [
        ("missing",),
        ("a", "x"),
        ("items", 5),
        ("items", "name"),
        ("zero", "x"),
        ("a", "b", "c", "d"),
    ],
)
def test_get_path_missing_is_missing(path: tuple) -> None:
    assert get_path(STATE, path) is MISSING


def test_missing_is_falsy_and_named() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"


# -- set_path -----------------------------------------------------------------------------------


def test_set_path_creates_objects() -> None:
    state: dict = {}
    set_path(state, ("a", "b", "c"), 1)
    assert state == {"a": {"b": {"c": 1}}}


def test_set_path_keeps_siblings() -> None:
    state = {"a": {"keep": True}}
    set_path(state, ("a", "new"), 2)
    assert state == {"a": {"keep": True, "new": 2}}


def test_set_path_replaces_null_on_the_way() -> None:
    state: dict = {"a": None}
    set_path(state, ("a", "b"), 1)
    assert state == {"a": {"b": 1}}


def test_set_path_list_index_replace_and_append() -> None:
    state = {"items": [1, 2]}
    set_path(state, ("items", 0), "first")
    assert state["items"] == ["first", 2]
    set_path(state, ("items", 2), "appended")  # index == len appends
    assert state["items"] == ["first", 2, "appended"]


def test_set_path_through_list_item() -> None:
    state = {"items": [{"name": "x"}]}
    set_path(state, ("items", 0, "name"), "z")
    assert state == {"items": [{"name": "z"}]}


def test_set_path_list_index_past_end_is_an_error() -> None:
    state = {"items": [1]}
    with pytest.raises(StateReferenceError) as info:
        set_path(state, ("items", 5), 0)
    assert "$.items[5]" in str(info.value)
    assert "no such index" in str(info.value)
    assert state == {"items": [1]}


def test_set_path_through_a_number_names_the_path() -> None:
    state = {"a": 5}
    with pytest.raises(StateReferenceError) as info:
        set_path(state, ("a", "b"), 1)
    message = str(info.value)
    assert "cannot write $.a.b" in message
    assert "at a found int, not an object" in message
    assert state == {"a": 5}


def test_set_path_through_a_string_deep() -> None:
    state = {"a": {"b": "text"}}
    with pytest.raises(StateReferenceError) as info:
        set_path(state, ("a", "b", "c", "d"), 1)
    assert "cannot write $.a.b.c.d: at a.b found str" in str(info.value)


def test_set_path_name_on_a_list_is_an_error() -> None:
    state = {"items": [1, 2]}
    with pytest.raises(StateReferenceError) as info:
        set_path(state, ("items", "name"), 1)
    assert "found list, not an object" in str(info.value)


# -- compile_value ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        5,
        None,
        True,
        "plain text",
        "Result: $.x",
        "$.i + 1",
        "{{ not a ref }}",
        [1, "two", {"three": 3}],
        {"a": {"b": ["c", 1.5]}},
    ],
)
def test_compile_literal_is_none(literal: object) -> None:
    assert compile_value(literal) is None


def test_whole_reference_keeps_type() -> None:
    state = {"n": 3, "obj": {"k": [1, 2]}, "flag": False, "items": [{"name": "x"}], "nul": None}
    assert compile_value("$.n")(state) == 3
    assert compile_value("$.obj")(state) == {"k": [1, 2]}
    assert compile_value("$.obj.k")(state) == [1, 2]
    assert compile_value("$.flag")(state) is False
    assert compile_value("$.items[0].name")(state) == "x"
    assert compile_value("$.nul")(state) is None


def test_whole_reference_missing() -> None:
    assert compile_value("$.nope")({}) is MISSING
    assert compile_value("$.a.b")({"a": {}}) is MISSING


def test_template_renders_text() -> None:
    resolve = compile_value(
        "n={{$.n}} f={{ $.f }} z={{$.z}} obj={{$.o}} miss=[{{$.m}}] nul=[{{$.x}}]"
    )
    text = resolve({"n": 2.0, "f": False, "z": 0, "o": {"a": [1, "b"]}, "x": None})
    assert text == 'n=2 f=false z=0 obj={"a":[1,"b"]} miss=[] nul=[]'


def test_template_with_single_reference_is_a_string() -> None:
    assert compile_value("{{$.n}}")({"n": 5}) == "5"
    assert compile_value("{{$.items[1]}}")({"items": ["a", "b"]}) == "b"


def test_template_is_resolved_at_each_call() -> None:
    resolve = compile_value("i={{$.i}}")
    assert resolve({"i": 1}) == "i=1"
    assert resolve({"i": 2}) == "i=2"


def test_missing_refs_dropped_in_dicts() -> None:
    resolve = compile_value({"a": "$.a", "b": "$.missing", "c": "literal"})
    assert resolve({"a": 1}) == {"a": 1, "c": "literal"}


def test_missing_refs_become_none_in_lists() -> None:
    resolve = compile_value(["$.a", "$.missing", 3])
    assert resolve({"a": 1}) == [1, None, 3]


def test_nested_structures_resolve() -> None:
    resolve = compile_value(
        {"outer": [{"v": "$.v", "t": "v is {{$.v}}"}, "lit"], "plain": {"x": 1}, "m": "$.nope"}
    )
    assert resolve({"v": 7}) == {"outer": [{"v": 7, "t": "v is 7"}, "lit"], "plain": {"x": 1}}


# -- to_text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (MISSING, ""),
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (2.0, "2"),
        (-3.0, "-3"),
        (2.5, "2.5"),
        (10, "10"),
        ({"a": 1, "b": [1, "x"]}, '{"a":1,"b":[1,"x"]}'),
        ([1, None, True], "[1,null,true]"),
        ({"é": "ü"}, '{"é":"ü"}'),
    ],
)
def test_to_text(value: object, text: str) -> None:
    assert to_text(value) == text


def test_to_text_nested_integral_floats_read_as_javascript() -> None:
    # JSON.stringify([2.0, {"b": 3.0}]) is "[2,{"b":3}]": JS has one number type.
    assert to_text([2.0, {"b": 3.0}]) == '[2,{"b":3}]'
