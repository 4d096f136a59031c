"""filter, sort and limit (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.nodes.data import FilterNode, LimitNode, SortNode

from .test_data_helpers import assert_error, call

PRODUCTS: list[dict[str, Any]] = [
    {"id": 1, "name": "Laptop Pro", "price": 1299.99, "category": "Electronics", "inStock": True,
     "tags": ["premium", "featured"], "meta": {"weight": 1.5}, "added": "2024-01-10"},
    {"id": 2, "name": "Wireless Mouse", "price": 29.99, "category": "Electronics",
     "inStock": False, "tags": ["accessories"], "meta": {"weight": 0.1}, "added": "2024-03-05"},
    {"id": 3, "name": "Programming Guide", "price": 49.99, "category": "Books", "inStock": True,
     "tags": ["bestseller", "featured"], "meta": {"weight": 0.8}, "added": "2023-12-24"},
    {"id": 4, "name": "Office Chair", "price": "299.99", "category": "Furniture", "inStock": True,
     "tags": [], "meta": {}, "added": None},
]  # fmt: skip


def filter_ids(*conditions: dict[str, Any], match_mode: str = "all") -> list[int]:
    _edge, state = call(
        FilterNode(), {"items": PRODUCTS, "conditions": list(conditions), "matchMode": match_mode}
    )
    return [row["id"] for row in state["filterPassed"]]


def cond(field: str, data_type: str, operation: str, **extra: Any) -> dict[str, Any]:
    return {"field": field, "dataType": data_type, "operation": operation, **extra}


# -- filter ----------------------------------------------------------------------------------------


def test_filter_passed_edge_and_state() -> None:
    edge, state = call(
        FilterNode(),
        {"items": PRODUCTS, "conditions": [cond("price", "number", "gt", value=100)]},
    )
    assert edge.name == "passed"
    assert edge.data == {
        "items": [PRODUCTS[0], PRODUCTS[3]],
        "passedCount": 2,
        "filteredCount": 2,
        "totalCount": 4,
    }
    assert state["filterPassed"] == [PRODUCTS[0], PRODUCTS[3]]
    assert state["filterFiltered"] == [PRODUCTS[1], PRODUCTS[2]]
    assert state["filterStats"] == {
        "passedCount": 2,
        "filteredCount": 2,
        "totalCount": 4,
        "passRate": 50,
    }
    assert state["filterPassed"][0] is PRODUCTS[0]  # rows are not copied


def test_filter_takes_filtered_when_nothing_passed() -> None:
    """(fix) the original never took filtered; with no row passing we take it, with the rest."""
    edge, state = call(
        FilterNode(), {"items": PRODUCTS, "conditions": [cond("price", "number", "gt", value=5000)]}
    )
    assert edge.name == "filtered"
    assert edge.data is not None and edge.data["items"] == PRODUCTS
    assert edge.data["passedCount"] == 0 and edge.data["filteredCount"] == 4
    assert state["filterPassed"] == []


def test_filter_empty_list_takes_filtered() -> None:
    edge, state = call(FilterNode(), {"items": [], "conditions": [cond("a", "boolean", "true")]})
    assert edge.name == "filtered"
    assert state["filterStats"] == {
        "passedCount": 0,
        "filteredCount": 0,
        "totalCount": 0,
        "passRate": 0,
    }


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("category", "string", "equals", value="Electronics"), [1, 2]),
        (cond("category", "string", "notEquals", value="Electronics"), [3, 4]),
        (cond("name", "string", "contains", value="Pro"), [1, 3]),
        (cond("name", "string", "notContains", value="o"), [4]),  # "Office Chair"
        (cond("name", "string", "startsWith", value="Wire"), [2]),
        (cond("name", "string", "endsWith", value="Chair"), [4]),
        (cond("name", "string", "regex", value="^(Laptop|Office).*"), [1, 4]),
        (cond("name", "string", "regex", value="(unclosed"), []),
        (cond("added", "string", "isEmpty"), [4]),
        (cond("added", "string", "isNotEmpty"), [1, 2, 3]),
        (cond("price", "string", "startsWith", value="29"), [2, 4]),  # numbers read as text
    ],
)
def test_filter_string_operations(condition: dict[str, Any], expected: list[int]) -> None:
    assert filter_ids(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("price", "number", "equals", value=29.99), [2]),
        (cond("price", "number", "notEquals", value=29.99), [1, 3, 4]),
        (cond("price", "number", "gt", value=100), [1, 4]),  # "299.99" is read as a number
        (cond("price", "number", "gte", value=49.99), [1, 3, 4]),
        (cond("price", "number", "lt", value=49.99), [2]),
        (cond("price", "number", "lte", value=49.99), [2, 3]),
        (cond("price", "number", "between", value=40, value2=300), [3, 4]),
        (cond("meta.weight", "number", "lt", value=1.0), [2, 3]),  # missing: never matches
        (cond("price", "number", "gt", value="abc"), []),  # NaN compares false
        (cond("price", "number", "gt", value="100"), [1, 4]),
    ],
)
def test_filter_number_operations(condition: dict[str, Any], expected: list[int]) -> None:
    assert filter_ids(condition) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("inStock", "boolean", "true"), [1, 3, 4]),
        (cond("inStock", "boolean", "false"), [2]),
        (cond("added", "date", "before", value="2024-01-01"), [3]),
        (cond("added", "date", "after", value="2024-01-10"), [2]),
        (cond("added", "date", "equals", value="2024-01-10T00:00:00Z"), [1]),
        (cond("added", "date", "between", value="2024-01-01", value2="2024-12-31"), [1, 2]),
        (cond("added", "date", "after", value="not a date"), []),
        (cond("tags", "array", "contains", value="featured"), [1, 3]),
        (cond("tags", "array", "notContains", value="featured"), [2, 4]),
        (cond("tags", "array", "isEmpty"), [4]),
        (cond("tags", "array", "isNotEmpty"), [1, 2, 3]),
        (cond("meta", "object", "isEmpty"), [4]),
        (cond("meta", "object", "isNotEmpty"), [1, 2, 3]),
        (cond("nothing", "object", "isEmpty"), [1, 2, 3, 4]),
    ],
)
def test_filter_boolean_date_array_object(condition: dict[str, Any], expected: list[int]) -> None:
    assert filter_ids(condition) == expected


def test_filter_array_contains_is_strict() -> None:
    rows = [{"v": [1, 2]}, {"v": [True]}, {"v": ["1"]}]
    _edge, state = call(
        FilterNode(), {"items": rows, "conditions": [cond("v", "array", "contains", value=1)]}
    )
    assert state["filterPassed"] == [{"v": [1, 2]}]


def test_filter_match_modes() -> None:
    expensive = cond("price", "number", "gt", value=100)
    books = cond("category", "string", "equals", value="Books")
    in_stock = cond("inStock", "boolean", "true")
    assert filter_ids(expensive, in_stock) == [1, 4]
    assert filter_ids(expensive, books, match_mode="any") == [1, 3, 4]
    assert filter_ids(expensive, books) == []


def test_filter_date_numbers_are_milliseconds() -> None:
    rows = [{"t": 1_700_000_000_000}, {"t": 1_000}]
    _edge, state = call(
        FilterNode(),
        {"items": rows, "conditions": [cond("t", "date", "after", value="2020-01-01")]},
    )
    assert state["filterPassed"] == [{"t": 1_700_000_000_000}]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"conditions": [cond("a", "boolean", "true")]}, ["items"]),
        ({"items": "nope", "conditions": [cond("a", "boolean", "true")]}, ["items", "string"]),
        ({"items": []}, ["conditions"]),
        ({"items": [], "conditions": []}, ["conditions"]),
        (
            {"items": [], "conditions": [cond("a", "boolean", "true")], "matchMode": "x"},
            ["matchMode"],
        ),
        ({"items": [], "conditions": [cond("a", "color", "is")]}, ["conditions[0].dataType"]),
        ({"items": [], "conditions": [cond("a", "number", "near")]}, ["conditions[0].operation"]),
        ({"items": [], "conditions": [cond("a", "number", "between", value=1)]}, ["value2"]),
        ({"items": [], "conditions": [{"dataType": "number"}]}, ["conditions[0].field"]),
        ({"items": [], "conditions": ["price > 3"]}, ["conditions[0]"]),
    ],
)
def test_filter_bad_input(params: dict[str, Any], words: list[str]) -> None:
    edge, state = call(FilterNode(), params)
    assert_error(edge, *words)
    assert "filterPassed" not in state


# -- sort ------------------------------------------------------------------------------------------

PEOPLE = [
    {"name": "bob", "score": 90, "team": {"id": 2}},
    {"name": "Alice", "score": 75, "team": {"id": 1}},
    {"name": "carol", "score": 90, "team": {"id": 1}},
    {"name": "dave", "score": None, "team": {"id": 3}},
    {"name": "Eve", "team": {"id": 2}},
]


def sort_names(*fields: tuple[str, str], **extra: Any) -> list[str]:
    params = {
        "type": "simple",
        "fieldsToSortBy": [{"fieldName": f, "order": o} for f, o in fields],
        **extra,
    }
    edge, state = call(SortNode(), params, edge_data={"items": PEOPLE})
    assert edge.name == "success"
    assert edge.data is not None and edge.data["items"] == state["sortedItems"]
    return [row["name"] for row in state["sortedItems"]]


def test_sort_single_field_text_is_case_insensitive() -> None:
    assert sort_names(("name", "ascending")) == ["Alice", "bob", "carol", "dave", "Eve"]
    assert sort_names(("name", "descending")) == ["Eve", "dave", "carol", "bob", "Alice"]


def test_sort_nulls_last_ascending_first_descending_and_stable() -> None:
    assert sort_names(("score", "ascending")) == ["Alice", "bob", "carol", "dave", "Eve"]
    # descending negates the whole comparison, as the original did: missing values come first
    assert sort_names(("score", "descending")) == ["dave", "Eve", "bob", "carol", "Alice"]


def test_sort_multiple_fields_and_dot_paths() -> None:
    names = sort_names(("team.id", "ascending"), ("score", "descending"))
    assert names == ["carol", "Alice", "Eve", "bob", "dave"]  # missing first when descending


def test_sort_disable_dot_notation_reads_plain_keys() -> None:
    rows = [{"a.b": 2, "n": "x"}, {"a.b": 1, "n": "y"}]
    params = {
        "type": "simple",
        "fieldsToSortBy": [{"fieldName": "a.b", "order": "ascending"}],
        "disableDotNotation": True,
    }
    _edge, state = call(SortNode(), params, edge_data={"items": rows})
    assert [r["n"] for r in state["sortedItems"]] == ["y", "x"]


def test_sort_mixed_types_order_numbers_booleans_text_null() -> None:
    rows = [{"v": "b"}, {"v": None}, {"v": True}, {"v": 3}, {"v": False}, {"v": 1}, {"v": "A"}]
    params = {"type": "simple", "fieldsToSortBy": [{"fieldName": "v", "order": "ascending"}]}
    _edge, state = call(SortNode(), params, edge_data={"items": rows})
    assert [r["v"] for r in state["sortedItems"]] == [1, 3, False, True, "A", "b", None]


def test_sort_reads_items_from_state_when_no_edge_data() -> None:
    state = {"items": [{"n": 2}, {"n": 1}]}
    params = {"type": "simple", "fieldsToSortBy": [{"fieldName": "n", "order": "ascending"}]}
    _edge, state = call(SortNode(), params, state)
    assert state["sortedItems"] == [{"n": 1}, {"n": 2}]
    assert state["items"] == [{"n": 2}, {"n": 1}]  # the input is not sorted in place


def test_sort_random_is_a_permutation() -> None:
    rows = [{"i": i} for i in range(50)]
    edge, state = call(SortNode(), {"type": "random"}, edge_data={"items": rows})
    assert edge.name == "success" and edge.data is not None
    assert edge.data["sortType"] == "random" and edge.data["count"] == 50
    assert sorted(r["i"] for r in state["sortedItems"]) == list(range(50))
    assert rows == [{"i": i} for i in range(50)]


def test_sort_empty_items() -> None:
    edge, state = call(SortNode(), {"type": "simple"}, edge_data={"items": []})
    assert edge.name == "success"
    assert edge.data == {"items": [], "count": 0, "message": "No items to sort"}
    assert state["sortedItems"] == []


@pytest.mark.parametrize(
    ("params", "edge_data", "words"),
    [
        ({}, {"items": [1]}, ["type"]),
        ({"type": "quick"}, {"items": [1]}, ["type", "quick"]),
        ({"type": "simple"}, {"items": "abc"}, ["items"]),
        ({"type": "simple"}, {"items": [{"a": 1}]}, ["fieldsToSortBy"]),
        ({"type": "simple", "fieldsToSortBy": []}, {"items": [{"a": 1}]}, ["fieldsToSortBy"]),
        ({"type": "simple", "fieldsToSortBy": [{"order": "ascending"}]}, {"items": [1]},
         ["fieldsToSortBy[0]", "fieldName"]),
        ({"type": "simple", "fieldsToSortBy": [{"fieldName": "a", "order": "up"}]}, {"items": [1]},
         ["fieldsToSortBy[0].order"]),
    ],
)  # fmt: skip
def test_sort_bad_input(
    params: dict[str, Any], edge_data: dict[str, Any], words: list[str]
) -> None:
    edge, state = call(SortNode(), params, edge_data=edge_data)
    assert_error(edge, *words)
    assert "sortedItems" not in state


# -- limit -----------------------------------------------------------------------------------------


def test_limit_from_beginning_and_end() -> None:
    edge, state = call(LimitNode(), {"items": [1, 2, 3, 4, 5], "maxItems": 3})
    assert edge.name == "success"
    assert edge.data == {
        "limitedItems": [1, 2, 3],
        "count": 3,
        "originalCount": 5,
        "keepFrom": "beginning",
        "itemsRemoved": 2,
    }
    assert (state["limitedItems"], state["limitCount"], state["limitOriginalCount"]) == (
        [1, 2, 3],
        3,
        5,
    )
    edge, state = call(LimitNode(), {"items": [1, 2, 3, 4, 5], "maxItems": 2, "keepFrom": "end"})
    assert state["limitedItems"] == [4, 5]


def test_limit_all_items_when_short_enough() -> None:
    edge, state = call(LimitNode(), {"items": [1, 2], "maxItems": 2})
    assert edge.name == "all_items"
    assert edge.data is not None and edge.data["limitedItems"] == [1, 2]
    assert state["limitCount"] == 2 and state["limitOriginalCount"] == 2
    edge, state = call(LimitNode(), {"items": [], "maxItems": 2})
    assert edge.name == "all_items" and state["limitedItems"] == []


def test_limit_fractional_max_items_truncates() -> None:
    _edge, state = call(LimitNode(), {"items": [1, 2, 3, 4], "maxItems": 2.7})
    assert state["limitedItems"] == [1, 2]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"maxItems": 2}, ["items"]),
        ({"items": [1, 2, 3]}, ["maxItems"]),
        ({"items": [1, 2, 3], "maxItems": "2"}, ["maxItems"]),
        ({"items": [1, 2, 3], "maxItems": True}, ["maxItems"]),
        ({"items": [1, 2, 3], "maxItems": 0}, ["maxItems"]),
        ({"items": "abc", "maxItems": 2}, ["items"]),
        ({"items": [1, 2, 3], "maxItems": 2, "keepFrom": "middle"}, ["keepFrom"]),
    ],
)
def test_limit_bad_input(params: dict[str, Any], words: list[str]) -> None:
    edge, state = call(LimitNode(), params)
    assert_error(edge, *words)
    assert "limitedItems" not in state
