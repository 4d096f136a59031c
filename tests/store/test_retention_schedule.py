"""The limits the server prunes with, and the periodic task that applies them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id, utcnow
from workscript_jupyter.store.retention import prune_executions, prune_periodically


def _runs(store: MemoryStore, owner: str, ages_days: list[float], workflow: str = "wf") -> None:
    now = utcnow()
    store.executions.create_many(
        [
            ExecutionRecord(
                id=new_id(), owner_id=owner, status="completed", workflow_id=workflow,
                created_at=now - timedelta(days=age),
            )
            for age in ages_days
        ]
    )  # fmt: skip


def _count(store: MemoryStore, scope: Scope) -> int:
    return len(store.executions.list(scope, limit=500).items)


def test_old_runs_are_pruned_and_recent_ones_kept():
    store = MemoryStore()
    owner = store.users.create("ada")
    _runs(store, owner.id, [1, 2, 40, 50])
    assert prune_executions(store, retention_days=30, max_per_workflow=0) == 2
    assert _count(store, Scope(owner.id)) == 2


def test_each_workflow_keeps_its_newest_runs():
    store = MemoryStore()
    owner = store.users.create("ada")
    _runs(store, owner.id, [1, 2, 3, 4], workflow="a")
    _runs(store, owner.id, [1, 2], workflow="b")
    assert prune_executions(store, retention_days=0, max_per_workflow=2) == 2
    assert _count(store, Scope(owner.id)) == 4


def test_zero_limits_prune_nothing():
    store = MemoryStore()
    owner = store.users.create("ada")
    _runs(store, owner.id, [400, 500])
    assert prune_executions(store, retention_days=0, max_per_workflow=0) == 0
    assert _count(store, Scope(owner.id)) == 2


def test_the_periodic_task_prunes_at_once_and_again_until_cancelled():
    store = MemoryStore()
    owner = store.users.create("ada")
    _runs(store, owner.id, [90])

    async def scenario() -> int:
        task = asyncio.create_task(
            prune_periodically(store, interval_seconds=0.05, retention_days=30, max_per_workflow=0)
        )
        await asyncio.sleep(0.02)
        first = _count(store, Scope(owner.id))
        _runs(store, owner.id, [91])  # arrives later: the next round takes it
        await asyncio.sleep(0.15)
        task.cancel()
        return first

    first = asyncio.run(scenario())
    assert first == 0
    assert _count(store, Scope(owner.id)) == 0
