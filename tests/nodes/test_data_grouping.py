"""aggregate, splitOut and summarize (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.nodes.data import AggregateNode, SplitOutNode, SummarizeNode

from .test_data_helpers import assert_error, call

USERS = [
    {"id": 1, "name": "Alice", "email": "a@x.io", "tags": ["vip", "early"], "org": {"id": 7}},
    {"id": 2, "name": "Bob", "email": "b@x.io", "tags": ["beta"], "org": {"id": 8}},
    {"id": 3, "name": "Carol", "tags": ["new"], "_binary": {"file": "c.png"}},
]

# -- aggregate -------------------------------------------------------------------------------------


def test_aggregate_all_data_is_the_default_and_drops_binaries() -> None:
    edge, state = call(AggregateNode(), {"outputField": "everyone"}, edge_data={"items": USERS})
    assert edge.name == "success"
    carol = {"id": 3, "name": "Carol", "tags": ["new"]}
    assert state["aggregatedData"] == {"everyone": [USERS[0], USERS[1], carol]}
    assert state["itemCount"] == 3
    assert edge.data == {
        "aggregatedData": state["aggregatedData"],
        "itemCount": 3,
        "mode": "all_data",
    }
    assert USERS[2]["_binary"] == {"file": "c.png"}  # the input row is untouched


def test_aggregate_all_data_default_output_field_and_include_binaries() -> None:
    _edge, state = call(AggregateNode(), {"includeBinaries": True}, edge_data={"items": USERS})
    assert state["aggregatedData"] == {"data": USERS}


def test_aggregate_individual_fields() -> None:
    params = {
        "mode": "individual_fields",
        "fields": [
            {"inputFieldName": "name", "outputFieldName": "names"},
            {"inputFieldName": "email"},
            {"inputFieldName": "tags", "outputFieldName": "allTags", "mergeLists": True},
            {"inputFieldName": "org.id", "outputFieldName": "orgs"},
            "id",
        ],
    }
    _edge, state = call(AggregateNode(), params, edge_data={"items": USERS})
    assert state["aggregatedData"] == {
        "names": ["Alice", "Bob", "Carol"],
        "email": ["a@x.io", "b@x.io"],  # missing values are skipped
        "allTags": ["vip", "early", "beta", "new"],
        "orgs": [7, 8],
        "id": [1, 2, 3],
    }


def test_aggregate_keep_missing_values_and_binaries() -> None:
    params = {
        "mode": "individual_fields",
        "fields": [{"inputFieldName": "email"}],
        "keepMissingValues": True,
        "includeBinaries": True,
    }
    _edge, state = call(AggregateNode(), params, edge_data={"items": USERS})
    assert state["aggregatedData"] == {
        "email": ["a@x.io", "b@x.io", None],
        "_binaries": [{"file": "c.png"}],
    }


@pytest.mark.parametrize(
    ("params", "expected"), [({}, {"data": []}), ({"mode": "individual_fields"}, {})]
)
def test_aggregate_empty(params: dict[str, Any], expected: dict[str, Any]) -> None:
    edge, state = call(AggregateNode(), params)  # no in.items at all
    assert edge.name == "empty"
    assert edge.data is not None and edge.data["aggregatedData"] == expected
    assert state["aggregatedData"] == expected and state["itemCount"] == 0


@pytest.mark.parametrize(
    ("params", "edge_data", "words"),
    [
        ({"mode": "pivot"}, {"items": USERS}, ["mode"]),
        ({"mode": "individual_fields"}, {"items": USERS}, ["fields"]),
        ({"mode": "individual_fields", "fields": [{"outputFieldName": "x"}]}, {"items": USERS},
         ["fields[0].inputFieldName"]),
        ({}, {"items": "abc"}, ["items"]),
        ({"outputField": 3}, {"items": USERS}, ["outputField"]),
    ],
)  # fmt: skip
def test_aggregate_bad_input(
    params: dict[str, Any], edge_data: dict[str, Any], words: list[str]
) -> None:
    edge, state = call(AggregateNode(), params, edge_data=edge_data)
    assert_error(edge, *words)
    assert "aggregatedData" not in state


# -- splitOut --------------------------------------------------------------------------------------

ORDER = {"order": {"id": "A1", "lines": [{"sku": "x"}, {"sku": "y"}]}, "customer": "Ann"}


def test_split_out_keeps_parent_data_without_the_array() -> None:
    state = {**ORDER, "_edgeContext": {"z": 1}}
    edge, state = call(SplitOutNode(), {"arrayPath": "order.lines", "as": "line"}, state)
    expected = [
        {"order": {"id": "A1"}, "customer": "Ann", "line": {"sku": "x"}},
        {"order": {"id": "A1"}, "customer": "Ann", "line": {"sku": "y"}},
    ]
    assert edge.name == "success"
    assert edge.data is not None and edge.data["items"] == expected
    assert edge.data["count"] == 2 and edge.data["arrayPath"] == "order.lines"
    assert state["splitOutResult"] == expected and state["splitOutCount"] == 2
    assert state["order"]["lines"] == [{"sku": "x"}, {"sku": "y"}]  # the state keeps its array


def test_split_out_without_parent_data_reads_edge_data() -> None:
    _edge, state = call(
        SplitOutNode(),
        {"arrayPath": "items", "keepParentData": False},
        {"items": ["state"]},
        edge_data={"items": [1, 2]},
    )
    assert state["splitOutResult"] == [{"item": 1}, {"item": 2}]


def test_split_out_twice_does_not_nest_earlier_results() -> None:
    state = {"tags": ["a", "b"]}
    call(SplitOutNode(), {"arrayPath": "tags"}, state)
    _edge, state = call(SplitOutNode(), {"arrayPath": "tags"}, state)
    assert state["splitOutResult"] == [{"item": "a"}, {"item": "b"}]


@pytest.mark.parametrize(
    ("state", "message"),
    [({"tags": []}, "Array is empty"), ({"tags": None}, 'Array at path "tags" is null')],
)
def test_split_out_empty(state: dict[str, Any], message: str) -> None:
    edge, state = call(SplitOutNode(), {"arrayPath": "tags"}, state)
    assert edge.name == "empty"
    assert edge.data == {"message": message, "arrayPath": "tags", "count": 0}


@pytest.mark.parametrize(
    ("params", "state", "words"),
    [
        ({}, {}, ["arrayPath"]),
        ({"arrayPath": ["a", "b"]}, {}, ["arrayPath", "not a $. reference"]),
        ({"arrayPath": "missing"}, {}, ["missing", "not found"]),
        ({"arrayPath": "name"}, {"name": "Ann"}, ["arrayPath", "not an array"]),
        ({"arrayPath": "tags", "as": ""}, {"tags": [1]}, ["as"]),
    ],
)
def test_split_out_bad_input(
    params: dict[str, Any], state: dict[str, Any], words: list[str]
) -> None:
    edge, state = call(SplitOutNode(), params, state)
    assert_error(edge, *words)
    assert "splitOutResult" not in state


# -- summarize -------------------------------------------------------------------------------------

SALES = [
    {"region": "East", "product": "A", "amount": 100, "qty": 2, "rep": "ann"},
    {"region": "West", "product": "A", "amount": 50.5, "qty": 1, "rep": "bo"},
    {"region": "East", "product": "B", "amount": "25", "qty": None, "rep": "ann"},
    {"region": "East", "product": "A", "amount": 75, "qty": 4, "rep": "cy"},
    {"product": "C", "amount": 10, "qty": 3, "rep": "dee"},
]


def summarize(params: dict[str, Any], items: list[Any] = SALES) -> tuple[Any, dict[str, Any]]:
    edge, state = call(SummarizeNode(), params, edge_data={"items": items})
    assert edge.name == "success", edge
    return edge, state


def spec(field: str, aggregation: str, output: str, **extra: Any) -> dict[str, Any]:
    return {
        "fieldToAggregate": field,
        "aggregation": aggregation,
        "outputFieldName": output,
        **extra,
    }


def test_summarize_every_aggregation_without_grouping() -> None:
    edge, state = summarize(
        {
            "fieldsToSummarize": [
                spec("amount", "sum", "total"),
                spec("qty", "average", "avgQty"),
                spec("qty", "count", "qtyCount"),
                spec("rep", "countUnique", "reps"),
                spec("amount", "max", "maxAmount"),
                spec("amount", "min", "minAmount"),
                spec("rep", "concatenate", "repList", separator="|"),
                spec("qty", "append", "qtys"),
            ]
        }
    )
    row = {
        "total": 260.5,
        "avgQty": 2.5,
        "qtyCount": 4,
        "reps": 4,
        "maxAmount": 100,
        "minAmount": 10,
        "repList": "ann|bo|ann|cy|dee",
        "qtys": [2, 1, 4, 3],
        "_itemCount": 5,
    }
    assert state["summarizeResult"] == [row]
    assert state["summarizeGroups"] == ["all"]
    assert edge.data == {"result": [row], "groups": ["all"], "itemCount": 5, "groupCount": 1}
    metadata = state["summarizeMetadata"]
    assert metadata["itemCount"] == 5 and metadata["groupCount"] == 1
    assert metadata["fieldsAggregated"] == [
        *("amount", "qty", "qty", "rep"),
        *("amount", "amount", "rep", "qty"),
    ]
    assert metadata["groupedBy"] == [] and metadata["timestamp"].endswith("Z")


def test_summarize_grouped_by_one_field() -> None:
    _edge, state = summarize(
        {
            "fieldsToSummarize": [spec("amount", "sum", "total"), spec("qty", "count", "n")],
            "fieldsToSplitBy": ["region"],
        }
    )
    assert state["summarizeResult"] == [
        {"total": 200, "n": 2, "_itemCount": 3, "region": "East"},
        {"total": 50.5, "n": 1, "_itemCount": 1, "region": "West"},
        {"total": 10, "n": 1, "_itemCount": 1, "region": None},
    ]
    assert state["summarizeGroups"] == ["East", "West", "__null__"]


def test_summarize_grouped_by_two_fields_single_item_and_skip_missing() -> None:
    _edge, state = summarize(
        {
            "fieldsToSummarize": [spec("amount", "sum", "total", includeEmptyValues=True)],
            "fieldsToSplitBy": ["region", "product"],
            "outputFormat": "single_item",
            "skipMissingFields": True,
        }
    )
    assert state["summarizeResult"] == {
        "groups": [
            {"total": 175, "_itemCount": 2, "region": "East", "product": "A"},
            {"total": 50.5, "_itemCount": 1, "region": "West", "product": "A"},
            {"total": 25, "_itemCount": 1, "region": "East", "product": "B"},
        ],
        "groupCount": 3,
        "totalItems": 5,
    }
    assert state["summarizeGroups"] == ["East::A", "West::A", "East::B"]


def test_summarize_group_values_keep_their_type() -> None:
    rows = [{"year": 2024, "v": 1}, {"year": 2024, "v": 2}, {"year": 2025, "v": 5}]
    _edge, state = summarize(
        {"fieldsToSummarize": [spec("v", "sum", "s")], "fieldsToSplitBy": ["year"]}, rows
    )
    assert [r["year"] for r in state["summarizeResult"]] == [2024, 2025]
    assert state["summarizeGroups"] == ["2024", "2025"]


def test_summarize_include_empty_values_counts_nulls() -> None:
    _edge, state = summarize(
        {"fieldsToSummarize": [spec("qty", "count", "n", includeEmptyValues=True)]}
    )
    assert state["summarizeResult"] == [{"n": 5, "_itemCount": 5}]


def test_summarize_no_numbers_gives_null_average_and_zero_sum() -> None:
    rows = [{"v": "x"}, {"v": None}]
    _edge, state = summarize(
        {
            "fieldsToSummarize": [
                spec("v", "average", "avg"),
                spec("v", "sum", "sum"),
                spec("v", "max", "max"),
            ]
        },
        rows,
    )
    assert state["summarizeResult"] == [{"avg": None, "sum": 0, "max": None, "_itemCount": 2}]


def test_summarize_empty_items() -> None:
    edge, state = summarize({"fieldsToSummarize": [spec("v", "sum", "s")]}, [])
    assert state["summarizeResult"] == [] and state["summarizeGroups"] == []
    assert edge.data == {"result": [], "groups": [], "itemCount": 0, "groupCount": 0}
    edge, state = summarize(
        {"fieldsToSummarize": [spec("v", "sum", "s")], "outputFormat": "single_item"}, []
    )
    assert state["summarizeResult"] == {}


@pytest.mark.parametrize(
    ("params", "items", "words"),
    [
        ({}, SALES, ["fieldsToSummarize"]),
        ({"fieldsToSummarize": []}, SALES, ["fieldsToSummarize"]),
        ({"fieldsToSummarize": [{"fieldToAggregate": "a"}]}, SALES, ["fieldsToSummarize[0]"]),
        ({"fieldsToSummarize": [spec("a", "median", "m")]}, SALES,
         ["fieldsToSummarize[0].aggregation", "median"]),
        ({"fieldsToSummarize": [spec("a", "sum", "s")], "fieldsToSplitBy": "region"}, SALES,
         ["fieldsToSplitBy"]),
        ({"fieldsToSummarize": [spec("a", "sum", "s")], "outputFormat": "csv"}, SALES,
         ["outputFormat"]),
        ({"fieldsToSummarize": [spec("a", "sum", "s")]}, "abc", ["items"]),
    ],
)  # fmt: skip
def test_summarize_bad_input(params: dict[str, Any], items: Any, words: list[str]) -> None:
    edge, state = call(SummarizeNode(), params, edge_data={"items": items})
    assert_error(edge, *words)
    assert "summarizeResult" not in state
