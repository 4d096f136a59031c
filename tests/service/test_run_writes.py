"""RunWrites: the run path's inserts, starts and final records, committed in groups."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.errors import BadRequestError, TooManyRunsError
from workscript_jupyter.service.run_writes import RunWrites
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.migrate import upgrade
from workscript_jupyter.store.records import ExecutionRecord, Scope, new_id, utcnow
from workscript_jupyter.store.sql import SqlStore

SERVER = "writes-server"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    url = f"sqlite:///{tmp_path / 'writes.sqlite'}"
    upgrade(url)
    sql = SqlStore.from_url(url)
    yield sql
    sql.close()


def _run(owner: str, **fields: Any) -> ExecutionRecord:
    values: dict[str, Any] = {
        "id": new_id(),
        "owner_id": owner,
        "status": "queued",
        "trigger": "api",
        "workflow_id": None,
        "initial_state": {"n": 1},
        "trigger_data": {"definition": {"id": "w"}},
        "claimed_by": SERVER,
        "created_at": utcnow(),
    }
    values.update(fields)
    return ExecutionRecord(**values)


def _owner(store: Store, name: str) -> str:
    return store.users.create(name, email=f"{name}@example.org").id


def test_calls_of_one_moment_are_written_as_one_batch(store: Store) -> None:
    owner = _owner(store, "alice")
    records = [_run(owner) for _ in range(50)]

    async def main() -> int:
        writes = RunWrites(store, SERVER)
        await asyncio.gather(*(writes.insert(r) for r in records))
        return writes.batches

    assert asyncio.run(main()) == 1
    stored = {r.id for r in store.executions.list(Scope(owner), limit=100).items}
    assert stored == {r.id for r in records}


def test_a_batch_admits_each_owner_up_to_the_limit_in_arrival_order(store: Store) -> None:
    alice, bob = _owner(store, "alice"), _owner(store, "bob")
    store.executions.create_many([_run(alice), _run(alice, status="running")])  # 2 active
    store.executions.create_many([_run(alice, status="completed")])  # not counted
    theirs = [_run(alice) for _ in range(3)] + [_run(bob) for _ in range(2)]

    async def main() -> list[BaseException | None]:
        writes = RunWrites(store, SERVER)
        return await asyncio.gather(
            *(writes.insert(r, admission_limit=3) for r in theirs), return_exceptions=True
        )

    outcomes = asyncio.run(main())
    assert outcomes[0] is None  # alice's third active run
    for refused in outcomes[1:3]:
        assert isinstance(refused, TooManyRunsError)
        assert refused.details == {"active": 3, "limit": 3}
    assert outcomes[3:] == [None, None]  # bob has his own count
    assert store.executions.count(status=("queued", "running"), owner_id=alice) == 3


def test_a_record_the_store_cannot_hold_fails_alone(store: Store) -> None:
    owner = _owner(store, "alice")
    good = [_run(owner) for _ in range(4)]
    bad = _run(owner, initial_state={"tags": {"a", "set"}})

    async def main() -> list[BaseException | None]:
        writes = RunWrites(store, SERVER)
        calls = [writes.insert(r) for r in good[:2]]
        calls += [writes.insert(bad)] + [writes.insert(r) for r in good[2:]]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[2], BadRequestError)
    assert "not JSON" in str(outcomes[2]) or "JSON" in str(outcomes[2])
    assert [o for i, o in enumerate(outcomes) if i != 2] == [None] * 4
    stored = {r.id for r in store.executions.list(Scope(owner), limit=10).items}
    assert stored == {r.id for r in good}


def test_a_run_starts_once_and_its_end_is_recorded(store: Store) -> None:
    owner = _owner(store, "alice")
    record = _run(owner)

    async def main() -> tuple[Any, Any]:
        writes = RunWrites(store, SERVER)
        await writes.insert(record)
        first, second = await asyncio.gather(writes.start(record.id), writes.start("0" * 32))
        again = await writes.start(record.id)
        ended = utcnow()
        changes = {"status": "completed", "final_state": {"n": 2}, "ended_at": ended}
        await asyncio.gather(writes.finish(record.id, changes), writes.finish("1" * 32, changes))
        return (first, second), again

    (first, unknown), again = asyncio.run(main())
    assert first[0] is True and unknown[0] is False and again[0] is False
    stored = store.executions.get(Scope(owner), record.id)
    assert stored.status == "completed" and stored.final_state == {"n": 2}
    assert stored.started_at == first[1] and stored.claimed_by == SERVER


def test_an_automation_run_sets_the_automations_last_run(store: Store) -> None:
    owner = _owner(store, "alice")
    workflow = store.workflows.create(
        Scope(owner), name="w", definition={"id": "w", "name": "w", "workflow": []}
    )
    automation = store.automations.create(
        Scope(owner),
        name="hook",
        workflow_id=workflow.id,
        trigger_type="webhook",
    )
    runs = [_run(owner, trigger="webhook", automation_id=automation.id) for _ in range(3)]

    async def main() -> None:
        writes = RunWrites(store, SERVER)
        await asyncio.gather(*(writes.insert(r, automation_id=automation.id) for r in runs))

    asyncio.run(main())
    latest = max(r.created_at for r in runs)
    assert store.automations.get(Scope(owner), automation.id).last_run_at == latest


def test_a_batch_is_one_transaction_on_a_sql_store(tmp_path: Path) -> None:
    """Inserts, automation touch, starts and final records of one batch: one commit (one
    disk flush), where each used to be a commit of its own."""
    from sqlalchemy import event

    url = f"sqlite:///{tmp_path / 'one.sqlite'}"
    upgrade(url)
    store = SqlStore.from_url(url)
    owner = _owner(store, "alice")
    queued = [_run(owner) for _ in range(3)]
    store.executions.create_many(queued)
    fresh = [_run(owner) for _ in range(5)]
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda connection: commits.append(1))

    async def main() -> int:
        writes = RunWrites(store, SERVER)
        changes = {"status": "completed", "ended_at": utcnow()}
        await asyncio.gather(
            *(writes.insert(r, admission_limit=100) for r in fresh),
            *(writes.start(r.id) for r in queued[:2]),
            writes.finish(queued[2].id, changes),
        )
        return writes.batches

    try:
        assert asyncio.run(main()) == 1
        assert len(commits) == 1
        statuses = {r.id: r.status for r in store.executions.list(Scope(owner), limit=20).items}
        assert [statuses[r.id] for r in queued] == ["running", "running", "completed"]
        assert all(statuses[r.id] == "queued" for r in fresh)
    finally:
        store.close()


def test_the_next_run_takes_the_slot_in_the_write_that_ends_the_last(
    serve: Any, store: Store
) -> None:
    """With one slot, run B's start is written in the batch of run A's end: when A's final
    event arrives, B is already running in the store. B's start event still comes after A's
    final event, so no reader ever sees two runs between their start and end events."""
    from tests.service.conftest import document
    from workscript_jupyter.engine import Event
    from workscript_jupyter.service import RunLimits

    admin = Scope("x", is_admin=True)
    order: list[tuple[str, str]] = []
    others_at_end: dict[str, list[str]] = {}

    def listen(event: Event) -> None:
        if not event.type.startswith("workflow:"):
            return
        order.append((event.type, event.execution_id))
        if event.type == "workflow:completed":
            runs = store.executions.list(admin, limit=10).items
            others_at_end[event.execution_id] = [
                r.status for r in runs if r.id != event.execution_id
            ]

    async def body(service: Any) -> tuple[str, str]:
        service.bus.subscribe(listen)
        caller = await service.identities.caller_for("me")
        first = await service.runs.start_run(caller, definition=document({"$.n": 1}))
        second = await service.runs.start_run(caller, definition=document({"$.n": 2}))
        for run in (first, second):
            assert (await service.runs.wait_for(caller, run.id, 10)).status == "completed"
        return first.id, second.id

    limits = RunLimits(max_concurrent_runs=1, max_concurrent_runs_per_user=1)
    first, second = serve(body, limits=limits)
    assert order == [
        ("workflow:started", first),
        ("workflow:completed", first),
        ("workflow:started", second),
        ("workflow:completed", second),
    ]
    assert others_at_end[first] == ["running"]  # started by the write that ended the first
