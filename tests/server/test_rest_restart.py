"""A server stopped during a run: at its next start the run is marked ``interrupted``.

Self-contained: before the server starts, the test leaves in its database file a ``running``
record claimed by the server's id, as a server killed mid-run leaves it; then the server starts
on that file and the REST API shows the run interrupted.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.service import WorkscriptService
from workscript_jupyter.store import migrate
from workscript_jupyter.store.connection import create_store_engine
from workscript_jupyter.store.records import Scope
from workscript_jupyter.store.sql import SqlStore

from .conftest import server_config

SERVER_ID = "restart-test-server"


async def _leave_a_running_run(store: SqlStore) -> str:
    """What a server killed mid-run leaves: its run ``running``, claimed by it."""
    service = WorkscriptService(store, builtin_registry(plugins=False), server_id=SERVER_ID)
    caller = await service.identities.caller_for("whoever")  # single-user: the server's owner
    scope = Scope(caller.user.id, is_admin=True)
    record = store.executions.create(scope, status="queued", trigger="api")
    store.executions.update(
        scope, record.id, status="running", claimed_by=SERVER_ID, started_at=record.created_at
    )
    assert store.executions.get(scope, record.id).status == "running"
    return record.id


@pytest.fixture
def dead_run(workscript_db_url: str) -> str:
    """The id of the run the previous life of the server left running in its database."""
    engine = create_store_engine(workscript_db_url)
    try:
        migrate.upgrade(engine)
        with ThreadPoolExecutor(1) as thread:  # a loop of its own: the server's is not running
            return thread.submit(asyncio.run, _leave_a_running_run(SqlStore(engine))).result()
    finally:
        engine.dispose()


@pytest.fixture
def jp_server_config(workscript_db_url: str, dead_run: str):
    """The server starts only after ``dead_run`` is in its database."""
    return server_config(workscript_db_url, server_id=SERVER_ID)


async def test_the_next_start_marks_the_run_interrupted(api, dead_run: str) -> None:
    reply = await api.get("executions", dead_run)
    assert reply.code == 200, reply.raw
    run = reply.body
    assert run["status"] == "interrupted"
    assert run["error"]["code"] == "INTERRUPTED"
    assert run["endedAt"]
    listed = await api.get("executions", params={"status": "interrupted"})
    assert [r["id"] for r in listed.body["items"]] == [dead_run]
