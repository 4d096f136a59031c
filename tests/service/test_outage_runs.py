"""Runs through a store outage (issue 13, item 11): every run ends final once the store is
back, and the owner's quota frees without a restart.

The outage is real: another connection holds SQLite's write lock (``BEGIN EXCLUSIVE``), so every
write of the service fails with ``StoreUnavailableError`` ("database is locked") after its
busy timeout, exactly as while a database server is away; reads still work (WAL), which lets
the test watch the records.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workscript_jupyter.engine import EventBus, NodeRegistry
from workscript_jupyter.errors import StoreUnavailableError, TooManyRunsError
from workscript_jupyter.service import RunLimits, WorkscriptService
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.migrate import upgrade
from workscript_jupyter.store.records import Scope
from workscript_jupyter.store.sql import SqlStore

from .conftest import Recorder, waiting

ADMIN = Scope("test-admin", is_admin=True)


class Outage:
    """Holds the database's write lock from a connection of its own while active."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def begin(self) -> None:
        self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._connection.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        if self._connection is not None:
            self._connection.execute("ROLLBACK")
            self._connection.close()
            self._connection = None


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Iterator[tuple[SqlStore, Outage]]:
    path = tmp_path / "outage.sqlite"
    upgrade(f"sqlite:///{path}")
    store = SqlStore(create_store_engine(f"sqlite:///{path}", busy_timeout_seconds=0.05))
    outage = Outage(path)
    yield store, outage
    outage.end()
    store.close()


async def until(condition: Any, what: str, timeout: float = 30.0) -> None:
    """Wait for ``condition()`` (a loop of small sleeps; no timing is asserted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


def make(store: SqlStore, registry: NodeRegistry, **limits: int) -> WorkscriptService:
    service = WorkscriptService(
        store,
        registry,
        server_id="outage-server",
        limits=RunLimits(**limits),
        bus=EventBus(),
    )
    service.stranded.sweep_seconds = 0.1
    service.stranded.min_age_seconds = 0.0
    service.stranded.retry_delays = (0.02, 0.02)
    return service


def test_runs_ending_in_an_outage_are_recorded_once_the_store_is_back(sqlite_path, registry):
    store, outage = sqlite_path
    recorder = Recorder(store)

    async def main() -> None:
        service = make(store, registry, max_concurrent_runs=2, max_queued_runs_per_user=4)
        service.bus.subscribe(recorder)
        await service.start()
        try:
            caller = await service.identities.caller_for("me")
            # two run (and end during the outage), two wait in the pool (their start is lost)
            runs = [await service.runs.start_run(caller, definition=waiting(0.3)) for _ in range(4)]
            ids = [r.id for r in runs]

            def status(execution_id: str) -> str:
                return store.executions.get(ADMIN, execution_id).status

            await until(lambda: status(ids[0]) == "running", "the first run started")
            outage.begin()
            await until(
                lambda: service.pool.running_count == 0 and service.pool.queued_count == 0,
                "every run left the pool",
            )
            assert service.stranded.pending >= 1  # an end that could not be written yet
            assert {status(i) for i in ids} <= {"queued", "running"}  # nothing final yet
            with pytest.raises(TooManyRunsError):  # the quota counts the store's rows
                await service.runs.start_run(caller, definition=waiting(0))
            outage.end()

            await until(
                lambda: all(status(i) not in ("queued", "running") for i in ids),
                "every run final after the outage",
            )
            final = {i: store.executions.get(ADMIN, i) for i in ids}
            assert final[ids[0]].status == "completed"  # its real end, written late
            assert final[ids[0]].final_state["done"] is True
            for record in final.values():
                if record.status != "completed":  # its start was lost: it never ran
                    assert record.status == "interrupted"
                    assert record.error["code"] == "NOT_STARTED"
                    assert "store was unavailable" in record.error["message"]
            # the final event of the late record was published once it was written
            assert "workflow:completed" in recorder.types(ids[0])
            # the quota counts again from the store: the user can run again, no restart
            again = await service.runs.start_run(caller, definition=waiting(0))
            record = await service.runs.wait_for(caller, again.id, 30)
            assert record.status == "completed"
            assert service.stranded.pending == 0
        finally:
            outage.end()
            await service.stop()

    asyncio.run(main())


def test_a_run_the_pool_lost_is_marked_by_the_sweep(sqlite_path, registry):
    """A run claimed by this server that no pool holds (its start failed in an outage, or its
    end was never kept) is re-marked, with what happened, at the next sweep."""
    store, _ = sqlite_path
    user = store.users.create("u")
    scope = Scope(user.id)
    queued = store.executions.create(scope, status="queued")
    store.executions.update(scope, queued.id, claimed_by="outage-server")
    running = store.executions.create(scope, status="queued")
    store.executions.update(scope, running.id, claimed_by="outage-server", status="running")
    other = store.executions.create(scope, status="queued")
    store.executions.update(scope, other.id, claimed_by="another-server")

    async def main() -> None:
        service = make(store, registry)
        service.interrupt_all_leftovers = False
        # the leftovers of a previous process are start()'s job; these appear later
        await service.start()
        try:
            swept = await service.stranded.sweep()
            assert swept == 0  # start() already took this server's leftovers
            before = service.stranded.swept
            lost = store.executions.create(scope, status="queued")
            store.executions.update(scope, lost.id, claimed_by="outage-server")
            # this sweep, or the background one (every 0.1 s here) if it came first, marks it
            await service.stranded.sweep()
            for _ in range(100):
                record = store.executions.get(ADMIN, lost.id)
                if record.status == "interrupted":
                    break
                await asyncio.sleep(0.05)
            assert service.stranded.swept == before + 1  # once, by whichever sweep
            assert (record.status, record.error["code"]) == ("interrupted", "NOT_STARTED")
            assert record.error["message"] == "the run was not started: the store was unavailable"
            assert store.executions.get(ADMIN, other.id).status == "queued"  # not ours
        finally:
            await service.stop()

    asyncio.run(main())
    assert store.executions.get(ADMIN, queued.id).error["code"] == "NOT_STARTED"
    assert store.executions.get(ADMIN, running.id).error["code"] == "INTERRUPTED"


def test_a_write_in_an_outage_is_retried_then_kept(sqlite_path, registry):
    store, outage = sqlite_path
    user = store.users.create("u")
    run = store.executions.create(Scope(user.id), status="running")
    written: list[str] = []

    async def main() -> None:
        service = make(store, registry)
        keeper = service.stranded
        outage.begin()
        kept = await keeper.write(
            Scope(user.id), run.id, {"status": "failed"}, lambda: written.append("late")
        )
        assert kept is False and keeper.is_pending(run.id) and written == []
        with pytest.raises(StoreUnavailableError):
            await keeper.sweep()  # still down: kept for the next one
        assert keeper.is_pending(run.id)
        outage.end()
        await keeper.sweep()
        assert not keeper.is_pending(run.id) and written == ["late"]

    asyncio.run(main())
    assert store.executions.get(ADMIN, run.id).status == "failed"
