"""Workflows: create/read/update/delete, owner scoping, validated updates, copies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import Scope, WorkflowRecord, new_id

from .conftest import walk

DEFINITION = {
    "id": "greet",
    "workflow": ["log", {"set": {"greeting": "héllo wörld ✓ 你好"}}],
    "nested": {"a": [1, 2.5, None, True, {"b": "c"}]},
}


def test_create_and_get(store: Store, alice: Scope) -> None:
    created = store.workflows.create(
        alice, name="Greet", definition=DEFINITION, description="says hi", version="2.0.0"
    )
    assert isinstance(created, WorkflowRecord)
    assert len(created.id) == 32
    assert created.owner_id == alice.user_id
    assert created.created_at.utcoffset() == timedelta(0)
    got = store.workflows.get(alice, created.id)
    assert got == created
    assert got.definition == DEFINITION
    assert (got.name, got.description, got.version) == ("Greet", "says hi", "2.0.0")


def test_defaults(store: Store, alice: Scope) -> None:
    created = store.workflows.create(alice, name="w", definition={})
    assert (created.version, created.description, created.definition) == ("1.0.0", "", {})


def test_create_with_an_id_and_a_taken_id(store: Store, alice: Scope, bob: Scope) -> None:
    wanted = new_id()
    created = store.workflows.create(alice, name="first", definition={"v": 1}, id=wanted)
    assert created.id == wanted
    with pytest.raises(ConflictError):
        store.workflows.create(bob, name="second", definition={"v": 2}, id=wanted)
    assert store.workflows.get(alice, wanted).name == "first"


def test_update(store: Store, alice: Scope) -> None:
    created = store.workflows.create(alice, name="before", definition={"v": 1})
    updated = store.workflows.update(
        alice, created.id, name="after", definition={"v": 2, "deep": {"x": [1]}}, version="1.1.0"
    )
    assert updated.name == "after"
    assert updated.definition == {"v": 2, "deep": {"x": [1]}}
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    assert store.workflows.get(alice, created.id) == updated


@pytest.mark.parametrize("field", ["owner_id", "id", "created_at", "nonsense"])
def test_update_refuses_other_fields_and_writes_nothing(
    store: Store, alice: Scope, field: str
) -> None:
    created = store.workflows.create(alice, name="keep", definition={"v": 1})
    with pytest.raises(ValueError, match=field):
        store.workflows.update(alice, created.id, name="changed", **{field: "x"})
    assert store.workflows.get(alice, created.id) == created


def test_delete(store: Store, alice: Scope) -> None:
    created = store.workflows.create(alice, name="gone", definition={})
    store.workflows.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.delete(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.update(alice, created.id, name="x")


def test_missing(store: Store, alice: Scope) -> None:
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(alice, new_id())


def test_owner_scoping(store: Store, alice: Scope, bob: Scope, admin: Scope) -> None:
    mine = store.workflows.create(alice, name="alice's", definition={})
    theirs = store.workflows.create(bob, name="bob's", definition={})
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(bob, mine.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.update(bob, mine.id, name="hijacked")
    with pytest.raises(RecordNotFoundError):
        store.workflows.delete(bob, mine.id)
    assert store.workflows.get(alice, mine.id).name == "alice's"
    assert [w.id for w in store.workflows.list(alice).items] == [mine.id]
    assert [w.id for w in store.workflows.list(bob).items] == [theirs.id]
    # an admin sees and changes everyone's rows, and the owner stays the owner
    assert {w.id for w in store.workflows.list(admin).items} == {mine.id, theirs.id}
    assert store.workflows.get(admin, mine.id).owner_id == alice.user_id
    assert store.workflows.update(admin, mine.id, name="fixed").owner_id == alice.user_id
    store.workflows.delete(admin, theirs.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(bob, theirs.id)


def test_list_newest_first_and_name_filter(store: Store, alice: Scope) -> None:
    ids = [
        store.workflows.create(alice, name=name, definition={}).id
        for name in ("Daily report", "weekly REPORT", "cleanup", "Report-monthly")
    ]
    listed = walk(store.workflows.list, limit=2, scope=alice)
    assert [w.id for w in listed] == ids[::-1]
    matching = store.workflows.list(alice, name_contains="report")
    assert {w.id for w in matching.items} == {ids[0], ids[1], ids[3]}
    assert store.workflows.list(alice, name_contains="nothing like it").items == ()


def test_callers_cannot_mutate_the_stored_definition(store: Store, alice: Scope) -> None:
    given = {"steps": [{"a": 1}]}
    created = store.workflows.create(alice, name="w", definition=given)
    given["steps"].append({"b": 2})
    created.definition["steps"][0]["a"] = 99
    fetched = store.workflows.get(alice, created.id)
    fetched.definition["new"] = True
    store.workflows.list(alice).items[0].definition.clear()
    assert store.workflows.get(alice, created.id).definition == {"steps": [{"a": 1}]}
