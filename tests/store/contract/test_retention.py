"""Pruning: by age, by count per workflow, in batches, never touching queued or running runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workscript_jupyter.store.base import Store
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id

from .conftest import walk

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def add(store: Store, owner: Scope, days: float, status: str = "completed", **kw: object) -> str:
    row = ExecutionRecord(
        id=new_id(),
        owner_id=owner.user_id,
        status=status,
        created_at=T0 + timedelta(days=days),
        **kw,  # type: ignore[arg-type]
    )
    store.executions.create_many([row])
    return row.id


def remaining(store: Store, admin: Scope) -> set[str]:
    return {r.id for r in walk(store.executions.list, limit=100, scope=admin)}


@pytest.mark.parametrize("batch_size", [500, 3, 1])
def test_prune_older_than(
    store: Store, alice: Scope, bob: Scope, admin: Scope, batch_size: int
) -> None:
    old_done = {add(store, alice, d, s, workflow_id="w") for d, s in
                [(0, "completed"), (1, "failed"), (2, "cancelled"), (3, "timed_out"),
                 (4, "interrupted")]}  # fmt: skip
    old_done.add(add(store, bob, 5, "completed"))  # every owner, and runs without a workflow
    old_active = {add(store, alice, 1, "queued"), add(store, bob, 2, "running")}
    young = {add(store, alice, 20, "completed"), add(store, alice, 21, "failed")}
    cutoff = T0 + timedelta(days=10)
    assert store.executions.prune(older_than=cutoff, batch_size=batch_size) == len(old_done)
    assert remaining(store, admin) == old_active | young
    assert store.executions.prune(older_than=cutoff, batch_size=batch_size) == 0


@pytest.mark.parametrize("batch_size", [500, 2])
def test_prune_keep_per_workflow(store: Store, alice: Scope, admin: Scope, batch_size: int) -> None:
    stuck = add(store, alice, 0, "running", workflow_id="w1")  # the oldest, and never pruned
    waiting = add(store, alice, 0.5, "queued", workflow_id="w1")
    w1 = [add(store, alice, d, "completed", workflow_id="w1") for d in range(1, 8)]
    w2 = [add(store, alice, d, "failed", workflow_id="w2") for d in range(1, 4)]
    assert store.executions.prune(keep_per_workflow=3, batch_size=batch_size) == 4 + 0
    assert remaining(store, admin) == {stuck, waiting, *w1[-3:], *w2}
    assert store.executions.prune(keep_per_workflow=1, batch_size=batch_size) == 2 + 2
    assert remaining(store, admin) == {stuck, waiting, w1[-1], w2[-1]}


def test_prune_both_rules(store: Store, alice: Scope, admin: Scope) -> None:
    old = [add(store, alice, d, workflow_id="w") for d in (0, 1)]
    new = [add(store, alice, d, workflow_id="w") for d in (30, 31, 32, 33)]
    lone = add(store, alice, 2)  # old, no workflow: pruned by age
    deleted = store.executions.prune(
        older_than=T0 + timedelta(days=10), keep_per_workflow=3, batch_size=2
    )
    assert deleted == len(old) + 1 + 1
    assert remaining(store, admin) == set(new[1:])
    assert lone not in remaining(store, admin)


def test_prune_with_nothing_to_do(store: Store, alice: Scope, admin: Scope) -> None:
    assert store.executions.prune(older_than=T0, keep_per_workflow=10) == 0
    kept = {add(store, alice, 1, workflow_id="w"), add(store, alice, 2, "running")}
    assert store.executions.prune() == 0
    assert store.executions.prune(older_than=T0, keep_per_workflow=5) == 0
    assert remaining(store, admin) == kept


def test_prune_keeps_full_records_of_survivors(store: Store, alice: Scope) -> None:
    timeline = [{"node": f"n{i}"} for i in range(50)]
    keep = add(store, alice, 40, workflow_id="w", timeline=timeline, final_state={"ok": True})
    add(store, alice, 1, workflow_id="w")
    assert store.executions.prune(older_than=T0 + timedelta(days=10)) == 1
    got = store.executions.get(alice, keep)
    assert got.timeline == timeline and got.final_state == {"ok": True}
