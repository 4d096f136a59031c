"""A run's state size and a workflow's step count on a real server (issue 13, items 2 and 5).

A 300-byte workflow that doubled a string 27 times grew the server by 3 GB and never ended; a
100,000-step workflow stalled the loop while it was validated. Now the run fails with
STATE_TOO_LARGE naming the limit (the ``max_state_mb`` trait), the server answers meanwhile, and
a workflow over ``max_workflow_steps`` is a 400 naming the limit.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import document, server_config


def doubling(body: Any, start: Any, times: int = 40) -> dict[str, Any]:
    return document(
        {"range...": {"stop": times, "current_step?": [body]}},
        initialState={"s": start},
    )


async def start(api: Any, definition: dict[str, Any]) -> str:
    """The id of a run of ``definition``, started without waiting for its end."""
    created = await api.post("workflows", json_body={"definition": definition})
    assert created.code == 201, created.raw
    run = await api.post("workflows", created.body["id"], "run")
    assert run.code == 202, run.raw
    return str(run.body["id"])


async def test_a_doubling_list_fails_and_a_get_is_answered_meanwhile(api) -> None:
    execution_id = await start(api, doubling({"$.s": ["$.s", "$.s"]}, ["x"]))
    reply = await api.get("executions", execution_id)  # answered while the run goes on
    assert reply.code == 200 and reply.body["status"] in ("queued", "running")
    record = await api.wait_for_status(execution_id, {"failed", "completed"}, timeout=120)
    assert record["status"] == "failed"
    assert record["error"]["code"] == "STATE_TOO_LARGE"
    assert "64 MB, the limit (max_state_mb)" in record["error"]["message"]
    assert "$.s" in record["error"]["message"]


async def test_a_workflow_over_the_step_limit_is_a_400_naming_it(api) -> None:
    huge = document(*(["empty"] * 100_001))
    for route in (("workflows",), ("workflows", "run")):
        reply = await api.post(*route, json_body={"definition": huge})
        assert reply.code == 400, reply.raw
        text = reply.raw.decode()
        assert "TOO_MANY_STEPS" in text and "10,000 steps" in text and "/workflow" in text
    checked = await api.post("workflows", "validate", json_body={"definition": huge})
    assert checked.code == 200 and checked.body["valid"] is False
    (issue,) = checked.body["errors"]
    assert issue["code"] == "TOO_MANY_STEPS" and issue["path"] == "/workflow"
    reply = await api.get("workflows")
    assert reply.code == 200 and reply.body["items"] == []


class TestTraits:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, max_state_mb=1.0, max_workflow_steps=50)

    async def test_the_traits_set_the_limits(self, api) -> None:
        execution_id = await start(api, doubling({"$.s": "{{$.s}}{{$.s}}"}, "x"))
        record = await api.wait_for_status(execution_id, {"failed", "completed"}, timeout=60)
        assert record["status"] == "failed"
        assert record["error"]["code"] == "STATE_TOO_LARGE"
        message = record["error"]["message"]
        assert "1 MB" in message and "max_state_mb" in message and "$.s" in message
        assert len(record["finalState"]["s"]) <= 1024 * 1024

        too_many = document(*(["empty"] * 51))
        reply = await api.post("workflows", json_body={"definition": too_many})
        assert reply.code == 400, reply.raw
        assert "50 steps" in reply.raw.decode() and "TOO_MANY_STEPS" in reply.raw.decode()
        created = await api.post("workflows", json_body={"definition": document("empty")})
        assert created.code == 201, created.raw
