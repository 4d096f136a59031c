"""A server stopped during a run: at its next start the run is marked ``interrupted``.

Two tests share one database file: the first leaves a ``running`` record claimed by the server
(as a server killed mid-run would), the second starts a new server on the same file.
"""

from __future__ import annotations

from typing import Any

import pytest

from workscript_jupyter.store.records import Scope

from .conftest import server_config

SERVER_ID = "restart-test-server"
_shared: dict[str, Any] = {}


@pytest.fixture(scope="module")
def shared_db_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("restart-db")
    return f"sqlite:///{folder / 'workscript.sqlite'}"


@pytest.fixture
def jp_server_config(shared_db_url):
    return server_config(shared_db_url, server_id=SERVER_ID)


async def test_a_server_dies_during_a_run(jp_serverapp):
    extension = jp_serverapp.web_app.settings["workscript"]
    service, store = extension["service"], extension["store"]
    caller = await service.caller_for("whoever")  # single-user: the server's owner
    scope = Scope(caller.user.id, is_admin=True)
    record = store.executions.create(scope, status="queued", trigger="api")
    store.executions.update(
        scope, record.id, status="running", claimed_by=SERVER_ID, started_at=record.created_at
    )
    assert store.executions.get(scope, record.id).status == "running"
    _shared["execution_id"] = record.id
    # the test ends without starting the extension's workers: nothing finishes the run


async def test_the_next_start_marks_it_interrupted(api):
    execution_id = _shared.get("execution_id")
    if execution_id is None:
        pytest.skip("needs the previous test of this module")
    reply = await api.get("executions", execution_id)
    assert reply.code == 200, reply.raw
    run = reply.body
    assert run["status"] == "interrupted"
    assert run["error"]["code"] == "INTERRUPTED"
    assert run["endedAt"]
    listed = await api.get("executions", params={"status": "interrupted"})
    assert [r["id"] for r in listed.body["items"]] == [execution_id]
