"""JavaScript value rules used by the nodes."""

from __future__ import annotations

import math

import pytest

from workscript_jupyter.nodes.values import (
    as_number,
    js_number,
    js_truthy,
    loose_equal,
    normalize_number,
    strict_equal,
)


@pytest.mark.parametrize("value", [None, False, 0, 0.0, -0.0, "", math.nan])
def test_falsy(value: object) -> None:
    assert js_truthy(value) is False


@pytest.mark.parametrize("value", [True, 1, -1, 0.5, "0", "false", " ", [], {}, [0]])
def test_truthy(value: object) -> None:
    assert js_truthy(value) is True


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (None, 0.0),
        (True, 1.0),
        (False, 0.0),
        (3, 3.0),
        ("  4.5 ", 4.5),
        ("", 0.0),
        ("  ", 0.0),
        ("1e3", 1000.0),
    ],
)
def test_js_number(value: object, number: float) -> None:
    assert js_number(value) == number


@pytest.mark.parametrize("value", ["abc", [1], {}, "1,2"])
def test_js_number_nan(value: object) -> None:
    assert math.isnan(js_number(value))


def test_as_number() -> None:
    assert as_number(3, "x") == 3
    assert as_number(2.5, "x") == 2.5
    with pytest.raises(ValueError, match=r"values\[2\] must be a number, got '3'"):
        as_number("3", "values[2]")
    with pytest.raises(ValueError, match="got True"):
        as_number(True, "flag")


def test_normalize_number() -> None:
    assert normalize_number(2.0) == 2 and type(normalize_number(2.0)) is int
    assert normalize_number(2.5) == 2.5
    assert type(normalize_number(2.0**60)) is float  # beyond exact integers: left alone
    assert normalize_number(7) == 7


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (1, True, False),
        (True, True, True),
        (0, False, False),
        ("1", 1, False),
        (None, None, True),
        (None, 0, False),
        ({"a": [1, 2]}, {"a": [1, 2]}, True),
        ([1, 2], [2, 1], False),
        ("x", "x", True),
    ],
)
def test_strict_equal(a: object, b: object, equal: bool) -> None:
    assert strict_equal(a, b) is equal


@pytest.mark.parametrize(
    ("a", "b"), [({"a": True}, {"a": 1}), ([1], [True]), ({"x": [0]}, {"x": [False]})]
)
def test_strict_equal_nested_booleans_are_not_numbers(a: object, b: object) -> None:
    # objects compare by value, and by === inside: true !== 1 at any depth
    assert strict_equal(a, b) is False


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("5", 5, True),
        (1, True, True),
        ("", 0, True),
        (None, None, True),
        (None, 0, False),
        (None, "", False),
        ("a", "a", True),
        ("a", "b", False),
        ([1], [1], True),
        ("abc", 0, False),
    ],
)
def test_loose_equal(a: object, b: object, equal: bool) -> None:
    assert loose_equal(a, b) is equal
