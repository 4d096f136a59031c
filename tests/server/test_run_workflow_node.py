"""runWorkflow through a real server: the child's record links to its parent in the REST
answers (checked against openapi.yaml), and the child's final state reaches the parent."""

from __future__ import annotations

from .conftest import document

FINISHED = {"completed", "failed", "timed_out", "cancelled", "interrupted"}


async def test_a_child_run_is_linked_to_its_parent(api):
    child = document({"$.doubled": "$.n"}, id="rw-child", initialState={"n": 1})
    reply = await api.post("workflows", json_body={"definition": child})
    assert reply.code == 201, reply.raw
    parent = document(
        {"runWorkflow": {"workflowId": "rw-child", "initialState": {"n": 21}}},
        id="rw-parent",
    )
    reply = await api.post("workflows", json_body={"definition": parent})
    assert reply.code == 201, reply.raw
    parent_id = reply.body["id"]

    reply = await api.post("workflows", parent_id, "run", params={"wait": 10})
    assert reply.code == 200, reply.raw
    run = await api.wait_for_status(reply.body["id"], FINISHED)
    assert run["status"] == "completed", run
    assert run["parentExecutionId"] is None
    child_run_id = run["finalState"]["runWorkflowExecutionId"]
    assert run["finalState"]["runWorkflowFinalState"]["doubled"] == 21

    reply = await api.get("executions", child_run_id)
    assert reply.code == 200, reply.raw
    assert reply.body["parentExecutionId"] == run["id"]
    assert reply.body["trigger"] == "workflow"
    assert reply.body["status"] == "completed"

    reply = await api.get("executions", params={"trigger": "workflow"})
    assert reply.code == 200, reply.raw
    items = reply.body["items"]
    assert [item["id"] for item in items] == [child_run_id]
    assert items[0]["parentExecutionId"] == run["id"]
