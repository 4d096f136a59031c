"""Workflows found by record id or by their owner's definition id; one definition id per owner."""

from __future__ import annotations

import pytest

from workscript_jupyter.errors import ConflictError, RecordNotFoundError
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import Scope


def _definition(definition_id: str, **extra: object) -> dict[str, object]:
    return {"id": definition_id, "name": "w", "version": "1.0.0", "workflow": [], **extra}


def test_the_record_keeps_its_definition_id(store: Store, alice: Scope) -> None:
    created = store.workflows.create(alice, name="w", definition=_definition("daily-report"))
    assert created.definition_id == "daily-report"
    assert store.workflows.get(alice, created.id).definition_id == "daily-report"
    none = store.workflows.create(alice, name="w", definition={"workflow": []})
    assert none.definition_id is None
    long = store.workflows.create(alice, name="w", definition=_definition("x" * 201))
    assert long.definition_id is None  # does not fit the column: not a definition id


def test_get_update_delete_by_definition_id(store: Store, alice: Scope) -> None:
    created = store.workflows.create(alice, name="w", definition=_definition("daily-report"))
    assert store.workflows.get(alice, "daily-report").id == created.id
    updated = store.workflows.update(alice, "daily-report", name="renamed")
    assert (updated.id, updated.name) == (created.id, "renamed")
    store.workflows.delete(alice, "daily-report")
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(alice, created.id)
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(alice, "daily-report")


def test_a_second_workflow_with_the_same_definition_id_is_a_conflict(
    store: Store, alice: Scope
) -> None:
    first = store.workflows.create(alice, name="w", definition=_definition("daily-report"))
    with pytest.raises(ConflictError, match="daily-report") as caught:
        store.workflows.create(alice, name="w2", definition=_definition("daily-report"))
    assert first.id in caught.value.message
    page = store.workflows.list(alice)
    assert [w.id for w in page.items] == [first.id]


def test_definition_ids_belong_to_their_owner(store: Store, alice: Scope, bob: Scope) -> None:
    mine = store.workflows.create(alice, name="w", definition=_definition("daily-report"))
    theirs = store.workflows.create(bob, name="w", definition=_definition("daily-report"))
    assert mine.id != theirs.id
    assert store.workflows.get(alice, "daily-report").id == mine.id
    assert store.workflows.get(bob, "daily-report").id == theirs.id
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(bob, mine.id)  # the record id of someone else's stays hidden


def test_an_admin_reaches_any_record_id_but_only_their_own_definition_ids(
    store: Store, alice: Scope, admin: Scope
) -> None:
    alices = store.workflows.create(alice, name="w", definition=_definition("daily-report"))
    assert store.workflows.get(admin, alices.id).id == alices.id
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(admin, "daily-report")


def test_update_keeps_the_definition_id_in_sync(store: Store, alice: Scope) -> None:
    first = store.workflows.create(alice, name="w", definition=_definition("one"))
    second = store.workflows.create(alice, name="w", definition=_definition("two"))
    renamed = store.workflows.update(alice, first.id, definition=_definition("three"))
    assert renamed.definition_id == "three"
    assert store.workflows.get(alice, "three").id == first.id
    with pytest.raises(RecordNotFoundError):
        store.workflows.get(alice, "one")
    # the old id is free again
    again = store.workflows.create(alice, name="w", definition=_definition("one"))
    assert again.definition_id == "one"
    with pytest.raises(ConflictError, match="two"):
        store.workflows.update(alice, first.id, definition=_definition("two"))
    assert store.workflows.get(alice, first.id).definition_id == "three"
    assert store.workflows.get(alice, "two").id == second.id
    # a workflow may keep its own definition id when its definition changes
    same = store.workflows.update(alice, "two", definition=_definition("two", description="d"))
    assert same.definition_id == "two"
