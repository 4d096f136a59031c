"""Request-size and run-count limits, set low through the traits."""

from __future__ import annotations

import pytest

from .conftest import WAIT_30, document, server_config


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        max_request_body_mb=0.002,
        max_queued_runs_per_user=2,
        max_concurrent_runs_per_user=1,
        run_wait_max_seconds=10,
    )


async def test_a_body_over_the_limit_is_413(api):
    big = document(description="x" * 4000)
    reply = await api.post("workflows", json_body={"definition": big})
    assert reply.code == 413
    assert reply.error["code"] == "PAYLOAD_TOO_LARGE"
    small = await api.post("workflows", json_body={"definition": document()})
    assert small.code == 201


async def test_the_wait_bound_follows_the_trait(api):
    workflow_id = (await api.post("workflows", json_body={"definition": document()})).body["id"]
    assert (await api.post("workflows", workflow_id, "run", params={"wait": 11})).code == 400
    assert (await api.post("workflows", workflow_id, "run", params={"wait": 10})).code == 200


async def test_too_many_runs_is_429_with_retry_after(api):
    workflow_id = (await api.post("workflows", json_body={"definition": document(WAIT_30)})).body[
        "id"
    ]
    first = await api.post("workflows", workflow_id, "run")
    second = await api.post("workflows", workflow_id, "run")
    assert (first.code, second.code) == (202, 202)
    await api.wait_for_status(first.body["id"], {"running"})
    # one run per user at a time: the second waits in the queue, and can be cancelled there
    queued = await api.get("executions", second.body["id"])
    assert queued.body["status"] == "queued"

    third = await api.post("workflows", workflow_id, "run")
    assert third.code == 429
    assert third.error["code"] == "TOO_MANY_RUNS"
    assert int(third.headers["Retry-After"]) >= 1

    cancelled = await api.post("executions", second.body["id"], "cancel")
    assert cancelled.code == 200 and cancelled.body["status"] == "cancelled"
    assert cancelled.body["startedAt"] is None
    assert (await api.post("executions", first.body["id"], "cancel")).code == 200
    again = await api.post("workflows", workflow_id, "run")
    assert again.code == 202
    await api.post("executions", again.body["id"], "cancel")
