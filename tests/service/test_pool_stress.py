"""The worker pool cannot wedge (issue 13, item 12).

- A run reaches a pool once: a second ``submit`` of an id the pool holds is refused, a stale
  id in the queue is skipped, and ``stop()`` returns even when a task will not end.
- A run started through the service is claimed in the same insert that stores it, so a queue
  worker never claims (and hands the pool) a run the request is about to submit.
- A seeded random stress test: 1,000 runs from 32 concurrent clients on a real service over
  SQLite, with cancels, deletes, waits and a restart of the service mixed in, ends with every
  run final and the pool idle, and no error inside the pool.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.engine import EventBus, NodeRegistry
from workscript_jupyter.errors import TooManyRunsError, UnprocessableError
from workscript_jupyter.service import Caller, Job, RunLimits, RunPool, WorkscriptService
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.migrate import upgrade
from workscript_jupyter.store.records import Scope, User
from workscript_jupyter.store.sql import SqlStore

from .conftest import document

ADMIN = Scope("test-admin", is_admin=True)
RUNS, CLIENTS, SEED = 1000, 32, 20241303


def test_the_same_run_reaches_the_pool_once_and_stale_ids_are_skipped():
    async def main() -> None:
        executed: list[str] = []
        gate = asyncio.Event()

        async def execute(job: Job) -> None:
            executed.append(job.execution_id)
            await gate.wait()

        async def drop(job: Job, reason: str) -> None:
            pass

        pool = RunPool(RunLimits(max_concurrent_runs=1), execute, drop)  # type: ignore[arg-type]
        alice = Caller.of(User("alice", "alice"))
        pool.start()
        first, twin = Job("r1", alice, "wf"), Job("r1", alice, "wf")
        assert pool.submit(first)
        assert not pool.submit(twin)  # the same id again (a claim raced the request)
        assert twin.done.done()  # its waiter is not left hanging
        assert pool.submit(Job("r2", alice, "wf"))
        assert not pool.submit(Job("r2", alice, "wf"))  # queued, not started: still refused
        await asyncio.sleep(0)
        assert executed == ["r1"]
        gate.set()
        await asyncio.wait_for(first.done, 5)
        for _ in range(100):
            if pool.running_count == 0 and pool.queued_count == 0:
                break
            await asyncio.sleep(0.01)
        assert executed == ["r1", "r2"]  # r2 ran once
        assert pool.running_count == 0 and pool.queued_count == 0
        await pool.stop(grace=0.05)

    asyncio.run(main())


def test_stop_returns_even_if_a_task_ignores_cancellation():
    async def main() -> None:
        release = asyncio.Event()

        async def stubborn(job: Job) -> None:
            while not release.is_set():
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    continue  # refuses to stop

        async def drop(job: Job, reason: str) -> None:
            pass

        pool = RunPool(RunLimits(), stubborn, drop)  # type: ignore[arg-type]
        pool.start()
        pool.submit(Job("r", Caller.of(User("a", "a")), "wf"))
        await asyncio.sleep(0)
        await asyncio.wait_for(pool.stop(grace=0.05), 10)  # returns: the task is left behind
        release.set()
        await asyncio.sleep(0.05)

    asyncio.run(main())


def test_a_queue_worker_never_claims_a_run_the_request_submits(store, registry):
    """The request's run is stored already claimed: a queue worker of the same server, which
    claims unclaimed queued runs, cannot take it too."""

    async def main() -> None:
        service = WorkscriptService(store, registry, server_id="s1", bus=EventBus())
        await service.start()
        try:
            caller = await service.identities.caller_for("me")
            record = await service.runs.start_run(caller, definition=document({"$.a": 1}))
            assert record.claimed_by == "s1"
            claimed = store.executions.claim_queued("s1-worker", limit=10)
            assert [r.id for r in claimed] == []
            done = await service.runs.wait_for(caller, record.id, 10)
            assert done.status == "completed"
        finally:
            await service.stop()

    asyncio.run(main())


# -- the stress test ---------------------------------------------------------------------------


class Holder:
    """The service the clients use now (replaced by a restart)."""

    def __init__(self, service: WorkscriptService) -> None:
        self.service = service


def _definition(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.5:
        return document({"$.i": i}, id=f"set-{i % 7}")
    if kind < 0.8:
        return document({"wait": {"seconds": rng.choice((0.001, 0.01, 0.03))}}, id="wait")
    return document({"wait": {"seconds": "soon"}}, id="bad")  # fails: not a number


def _make(store: Store, registry: NodeRegistry) -> WorkscriptService:
    service = WorkscriptService(
        store,
        registry,
        server_id="stress-server",
        limits=RunLimits(
            max_concurrent_runs=8, max_concurrent_runs_per_user=3, max_queued_runs_per_user=60
        ),
        bus=EventBus(),
    )
    service.stranded.sweep_seconds = 0.2
    service.stranded.min_age_seconds = 1.0
    return service


async def _client(holder: Holder, index: int, runs: int, made: list[str]) -> None:
    rng = random.Random(SEED + index)
    username = f"user{index % 8}"  # 8 users, 4 clients each
    for n in range(runs):
        service = holder.service
        caller = await service.identities.caller_for(username)
        definition = _definition(rng, n)
        while True:  # over the owner's limit: wait for some runs to end, as a client would
            try:
                record = await holder.service.runs.start_run(caller, definition=definition)
                break
            except TooManyRunsError:
                await asyncio.sleep(0.05)
        made.append(record.id)
        action = rng.random()
        try:
            if action < 0.15:
                await service.runs.cancel_execution(caller, record.id)
            elif action < 0.25:
                await service.runs.delete_execution(caller, record.id)
                made.remove(record.id)
            elif action < 0.30:  # a claim that raced the request (the pool must refuse it)
                service.pool.submit(Job(record.id, caller, "wf"))
            elif action < 0.60:
                await service.runs.wait_for(caller, record.id, 10)
        except UnprocessableError:
            pass  # already ended (cancel) or running (delete): both answers are right
        if rng.random() < 0.3:
            await asyncio.sleep(0)


async def _restart(holder: Holder, made: list[str], store: Store, registry: NodeRegistry) -> None:
    while len(made) < RUNS // 2:
        await asyncio.sleep(0.01)
    old = holder.service
    await old.stop()
    new = _make(store, registry)
    await new.start()
    holder.service = new


def test_a_thousand_runs_from_32_clients_end_final_with_the_pool_idle(
    tmp_path: Path, registry: NodeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "stress.sqlite"
    upgrade(f"sqlite:///{path}")
    store = SqlStore(create_store_engine(f"sqlite:///{path}"))
    made: list[str] = []
    caplog.set_level(logging.ERROR, logger="workscript_jupyter.service")

    async def main() -> None:
        holder = Holder(_make(store, registry))
        await holder.service.start()
        per_client = -(-RUNS // CLIENTS)
        clients = [_client(holder, i, per_client, made) for i in range(CLIENTS)]
        await asyncio.gather(*clients, _restart(holder, made, store, registry))
        service = holder.service
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:  # the last runs end; stragglers of the restart are swept
            active = store.executions.count(status=("queued", "running"))
            if active == 0 and service.pool.running_count == service.pool.queued_count == 0:
                break
            assert loop.time() < deadline, f"{active} runs never ended"
            await asyncio.sleep(0.1)
        assert service.pool._jobs == {}  # idle: nothing held
        assert service.stranded.pending == 0
        # the pool still takes runs after all that
        caller = await service.identities.caller_for("user0")
        last = await service.runs.start_run(caller, definition=document({"$.a": 1}))
        assert (await service.runs.wait_for(caller, last.id, 10)).status == "completed"
        await service.stop()

    asyncio.run(main())
    assert len(made) >= RUNS * 0.8
    statuses = {r.status for r in _all_runs(store)}
    assert statuses <= {"completed", "failed", "cancelled", "interrupted"}, statuses
    assert "completed" in statuses and "cancelled" in statuses
    pool_errors = [r for r in caplog.records if "inside the worker pool" in r.getMessage()]
    assert pool_errors == [], pool_errors[0].exc_text if pool_errors else ""
    store.close()


def _all_runs(store: Store) -> list[Any]:
    found: list[Any] = []
    cursor = None
    while True:
        page = store.executions.list(ADMIN, limit=200, cursor=cursor)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            return found
