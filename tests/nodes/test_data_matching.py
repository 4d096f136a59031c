"""removeDuplicates and compareDatasets (WORKFLOW-LANGUAGE.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.engine import Services
from workscript_jupyter.nodes.data import CompareDatasetsNode, RemoveDuplicatesNode

from .test_data_helpers import assert_error, call

CONTACTS = [
    {"email": "a@x.io", "name": "Ann", "seen": 1, "address": {"city": "Oslo"}},
    {"email": "b@x.io", "name": "Bob", "seen": 2, "address": {"city": "Rome"}},
    {"email": "a@x.io", "name": "Ann", "seen": 3, "address": {"city": "Oslo"}},
    {"email": "a@x.io", "name": "Ann", "seen": 1.0, "address": {"city": "Oslo"}},
    {"email": "c@x.io", "name": "Cy", "seen": True, "address": {"city": "Rome"}},
]


def dedupe(params: dict[str, Any], items: list[Any] = CONTACTS, **kw: Any) -> tuple[Any, Any]:
    return call(RemoveDuplicatesNode(), params, edge_data={"items": items}, **kw)


# -- removeDuplicates ------------------------------------------------------------------------------


def test_remove_duplicates_all_fields_is_the_default() -> None:
    edge, state = dedupe({})
    assert edge.name == "kept"
    # row 3 differs (seen 3); row 4 repeats row 0 (1.0 is 1); row 5's True is not 1
    assert state["keptItems"] == [CONTACTS[0], CONTACTS[1], CONTACTS[2], CONTACTS[4]]
    assert state["discardedItems"] == [CONTACTS[3]]
    assert edge.data == {"items": state["keptItems"], "keptCount": 4, "discardedCount": 1}
    summary = state["deduplicationSummary"]
    assert {k: summary[k] for k in ("totalItems", "keptCount", "discardedCount")} == {
        "totalItems": 5,
        "keptCount": 4,
        "discardedCount": 1,
    }
    assert summary["operation"] == "current_input" and summary["compareMode"] == "all_fields"
    assert summary["timestamp"].endswith("Z")


def test_remove_duplicates_selected_fields_with_dot_paths() -> None:
    _edge, state = dedupe({"compareMode": "selected_fields", "fieldsToCompare": ["address.city"]})
    assert [r["name"] for r in state["keptItems"]] == ["Ann", "Bob"]
    assert len(state["discardedItems"]) == 3


def test_remove_duplicates_all_except_and_remove_other_fields() -> None:
    _, state = dedupe(
        {
            "compareMode": "all_except",
            "fieldsToExclude": ["seen", "address"],
            "removeOtherFields": True,
        }
    )
    assert state["keptItems"] == [
        {"email": "a@x.io", "name": "Ann"},
        {"email": "b@x.io", "name": "Bob"},
        {"email": "c@x.io", "name": "Cy"},
    ]
    _edge, state = dedupe(
        {"compareMode": "selected_fields", "fieldsToCompare": ["email"], "removeOtherFields": True}
    )
    assert state["keptItems"] == [{"email": "a@x.io"}, {"email": "b@x.io"}, {"email": "c@x.io"}]


def test_remove_duplicates_primitive_rows() -> None:
    _edge, state = dedupe({}, [1, "1", 1, None, None, [1], [1]])
    assert state["keptItems"] == [1, "1", None, [1]]


def test_remove_duplicates_discarded_edge_when_nothing_kept() -> None:
    services = Services()
    params = {"operation": "previous_executions"}
    call(RemoveDuplicatesNode(), params, edge_data={"items": [{"a": 1}]}, services=services)
    edge, state = call(
        RemoveDuplicatesNode(), params, edge_data={"items": [{"a": 1}]}, services=services
    )
    assert edge.name == "discarded"
    assert edge.data == {"items": [{"a": 1}], "discardedCount": 1}
    assert state["keptItems"] == []


def test_remove_duplicates_history_across_runs_per_workflow() -> None:
    services = Services()
    params = {"operation": "previous_executions", "compareMode": "selected_fields",
              "fieldsToCompare": ["id"]}  # fmt: skip
    _first, _ = dedupe(params, [{"id": 1}, {"id": 2}], services=services)
    second, state = dedupe(params, [{"id": 2}, {"id": 3}], services=services)
    assert second.name == "kept" and state["keptItems"] == [{"id": 3}]
    assert state["discardedItems"] == [{"id": 2}]
    _other_workflow, state = dedupe(params, [{"id": 2}], services=services, workflow_id="other")
    assert state["keptItems"] == [{"id": 2}]
    assert set(services.dedupe_history) == {"wf", "other"}
    # node scope: another node of the same workflow has its own history
    _elsewhere, state = dedupe(params, [{"id": 1}], services=services, node_path="/workflow/5/x")
    assert state["keptItems"] == [{"id": 1}]


def test_remove_duplicates_workflow_scope_is_shared_by_nodes() -> None:
    services = Services()
    params = {"operation": "previous_executions", "scope": "workflow"}
    dedupe(params, [{"id": 1}], services=services, node_path="/workflow/0/removeDuplicates")
    edge, _state = dedupe(params, [{"id": 1}], services=services, node_path="/workflow/3/x")
    assert edge.name == "discarded"


def test_remove_duplicates_history_size_keeps_the_newest() -> None:
    services = Services()
    params = {"operation": "previous_executions", "historySize": 2}
    dedupe(params, [{"id": 1}, {"id": 2}, {"id": 3}], services=services)
    _edge, state = dedupe(params, [{"id": 1}, {"id": 3}], services=services)
    assert state["keptItems"] == [{"id": 1}]  # 1 fell out of the history of 2


def test_remove_duplicates_history_without_services_lives_in_memory() -> None:
    memory: dict[str, dict[str, Any]] = {}
    params = {"operation": "previous_executions"}
    dedupe(params, [{"id": 1}], memory=memory)
    edge, _ = dedupe(params, [{"id": 1}], memory=memory)
    assert edge.name == "discarded"
    edge, _state = dedupe(params, [{"id": 1}])  # a new run: fresh memory
    assert edge.name == "kept"


def test_remove_duplicates_clear_history() -> None:
    services = Services()
    params = {"operation": "previous_executions"}
    dedupe(params, [{"id": 1}], services=services)
    edge, _ = call(RemoveDuplicatesNode(), {"operation": "clear_history"}, services=services)
    assert edge.name == "cleared"
    assert edge.data == {"message": "Deduplication history cleared", "scope": "node"}
    assert services.dedupe_history["wf"] == {}
    edge, _state = dedupe(params, [{"id": 1}], services=services)
    assert edge.name == "kept"


def test_remove_duplicates_history_is_a_copy() -> None:
    services = Services()
    rows = [{"id": 1}]
    dedupe({"operation": "previous_executions"}, rows, services=services)
    rows[0]["id"] = 99
    assert services.dedupe_history["wf"]["node:/workflow/0/removeDuplicates"] == [{"id": 1}]


@pytest.mark.parametrize(
    ("params", "items", "words"),
    [
        ({"operation": "forget"}, [], ["operation"]),
        ({"compareMode": "fuzzy"}, [], ["compareMode"]),
        ({"compareMode": "selected_fields"}, [], ["fieldsToCompare"]),
        ({"compareMode": "all_except"}, [], ["fieldsToExclude"]),
        ({"compareMode": "selected_fields", "fieldsToCompare": "email"}, [], ["fieldsToCompare"]),
        ({"scope": "galaxy"}, [], ["scope"]),
        ({"historySize": -1}, [], ["historySize"]),
        ({}, "abc", ["items"]),
    ],
)
def test_remove_duplicates_bad_input(params: dict[str, Any], items: Any, words: list[str]) -> None:
    edge, state = dedupe(params, items)
    assert_error(edge, *words)
    assert "keptItems" not in state


# -- compareDatasets -------------------------------------------------------------------------------

PEOPLE = [
    {"userId": 1, "name": "Alice", "tags": ["a"]},
    {"userId": 2, "name": "Bob", "tags": ["b"]},
    {"userId": "3", "name": "Cy", "tags": []},
]
DEPARTMENTS = [
    {"uid": 1, "department": "Eng", "tags": "x"},
    {"uid": 1, "department": "Ops", "tags": "y"},
    {"uid": 3, "department": "Sales", "name": "C."},
]
BY_ID = [{"field1": "userId", "field2": "uid"}]


def compare(mode: str, **params: Any) -> tuple[Any, dict[str, Any]]:
    return call(
        CompareDatasetsNode(),
        {"mode": mode, "input1": PEOPLE, "input2": DEPARTMENTS, "matchFields": BY_ID, **params},
    )


def test_compare_append() -> None:
    edge, state = compare("append")
    assert state["compareResult"] == PEOPLE + DEPARTMENTS
    assert edge.data == {"result": PEOPLE + DEPARTMENTS, "count": 6}
    metadata = state["compareMetadata"]
    assert (metadata["mode"], metadata["input1Count"], metadata["input2Count"]) == ("append", 3, 3)
    assert metadata["resultCount"] == 6


def test_compare_keep_matches_one_to_many_text_keys() -> None:
    edge, state = compare("keep_matches")
    assert state["compareResult"] == [
        {"userId": 1, "name": "Alice", "tags": "x", "uid": 1, "department": "Eng"},
        {"userId": 1, "name": "Alice", "tags": "y", "uid": 1, "department": "Ops"},
        {"userId": "3", "name": "C.", "tags": [], "uid": 3, "department": "Sales"},
    ]
    assert edge.name == "success" and edge.data is not None
    assert edge.data["count"] == 3 and edge.data["matched"] == 2
    assert state["compareMetadata"]["matchedCount"] == 2


def test_compare_keep_matches_with_picked_fields() -> None:
    _edge, state = compare("keep_matches", input1Fields=["name"], input2Fields=["department"])
    assert state["compareResult"] == [
        {"name": "Alice", "department": "Eng"},
        {"name": "Alice", "department": "Ops"},
        {"name": "Cy", "department": "Sales"},
    ]


def test_compare_no_matches_edge() -> None:
    edge, state = compare("keep_matches", matchFields=[{"field1": "name", "field2": "department"}])
    assert edge.name == "no_matches"
    assert edge.data == {"result": [], "count": 0, "message": "No matching items found"}
    assert state["compareResult"] == []


@pytest.mark.parametrize("mode", ["keep_non_matches", "remove_matches"])
def test_compare_anti_join(mode: str) -> None:
    edge, state = compare(mode)
    assert edge.name == "success"
    assert state["compareResult"] == [PEOPLE[1]]


def test_compare_enrich_conflict_strategies() -> None:
    _, state = compare("enrich", input2Fields=["department", "tags"])
    assert state["compareResult"] == [
        {"userId": 1, "name": "Alice", "tags": ["a"], "department": "Eng"},
        PEOPLE[1],
        {"userId": "3", "name": "Cy", "tags": [], "department": "Sales"},
    ]
    _, state = compare("enrich", input2Fields=["department"], resolveConflicts="prefer_input2")
    assert state["compareResult"][0]["department"] == "Ops"
    _edge, state = compare("enrich", resolveConflicts="merge_arrays")
    assert state["compareResult"][0]["tags"] == ["a", "x", "y"]
    assert state["compareResult"][0]["department"] == ["Eng", "Ops"]
    assert PEOPLE[0]["tags"] == ["a"]  # input1's own list is not changed


def test_compare_nested_match_fields() -> None:
    left = [{"user": {"id": 1}, "v": "l"}]
    right = [{"owner": {"id": 1}, "w": "r"}]
    _edge, state = call(
        CompareDatasetsNode(),
        {
            "mode": "keep_matches",
            "input1": left,
            "input2": right,
            "matchFields": [{"field1": "user.id", "field2": "owner.id"}],
            "input2Fields": ["owner.id"],
        },
    )
    assert state["compareResult"] == [{"user": {"id": 1}, "v": "l", "owner": {"id": 1}}]


def test_compare_choose_branch() -> None:
    edge, state = compare("choose_branch", selectedBranch="input2")
    assert state["compareResult"] == DEPARTMENTS
    assert edge.data == {"result": DEPARTMENTS, "count": 3, "selectedBranch": "input2"}
    assert state["compareMetadata"]["selectedBranch"] == "input2"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"mode": None}, ["mode"]),
        ({"mode": "outer_join"}, ["mode", "outer_join"]),
        ({"mode": "choose_branch"}, ["selectedBranch"]),
        ({"mode": "choose_branch", "selectedBranch": "input1", "input1": "x"}, ["input1"]),
        ({"mode": "append", "input1": None}, ["input1"]),
        ({"mode": "append", "input2": {"a": 1}}, ["input2"]),
        ({"mode": "keep_matches", "matchFields": []}, ["matchFields"]),
        ({"mode": "enrich", "matchFields": [{"field1": "a"}]}, ["matchFields[0]", "field2"]),
        ({"mode": "enrich", "resolveConflicts": "coin_flip"}, ["resolveConflicts"]),
        ({"mode": "keep_matches", "input1Fields": "name"}, ["input1Fields"]),
    ],
)
def test_compare_bad_input(params: dict[str, Any], words: list[str]) -> None:
    base = {"input1": PEOPLE, "input2": DEPARTMENTS, "matchFields": BY_ID}
    merged = {k: v for k, v in {**base, **params}.items() if v is not None}
    edge, state = call(CompareDatasetsNode(), merged)
    assert_error(edge, *words)
    assert "compareResult" not in state
