"""Runs through a real server: start, wait, poll, cancel, rerun, timeline, list, delete."""

from __future__ import annotations

import asyncio

from .conftest import WAIT_30, document

MISSING = "f" * 32
FINISHED = {"completed", "failed", "timed_out", "cancelled", "interrupted"}
SUMMARY_KEYS = {
    "id",
    "workflowId",
    "automationId",
    "ownerId",
    "status",
    "trigger",
    "error",
    "nodeRuns",
    "attempt",
    "scheduledFor",
    "createdAt",
    "startedAt",
    "endedAt",
    "durationMs",
    "warnings",  # what went wrong without failing the run (issue 13, item 14)
    "hasWarnings",
    "parentExecutionId",  # a child run of runWorkflow (issue 17, item 6)
}


async def save(api, *steps, **extra) -> str:
    reply = await api.post("workflows", json_body={"definition": document(*steps, **extra)})
    assert reply.code == 201, reply.raw
    return reply.body["id"]


async def test_run_is_202_then_completes(api):
    workflow_id = await save(api)
    reply = await api.post(
        "workflows", workflow_id, "run", json_body={"initialState": {"who": "you"}}
    )
    assert reply.code == 202, reply.raw
    run = reply.body
    assert run["status"] in ("queued", "running")
    assert run["workflowId"] == workflow_id
    assert run["trigger"] == "api"
    assert reply.headers["Location"].endswith(f"/workscript/executions/{run['id']}")
    done = await api.wait_for_status(run["id"], FINISHED)
    assert done["status"] == "completed", done
    assert done["finalState"]["greeting"] == "hello you"  # the caller's state wins
    assert done["initialState"]["who"] == "you"
    assert done["timeline"] and done["nodeRuns"] >= 1
    assert done["startedAt"] and done["endedAt"] and done["durationMs"] is not None
    assert SUMMARY_KEYS | {"initialState", "finalState", "timeline"} == set(done)


async def test_run_with_wait_answers_200_with_the_final_state(api):
    workflow_id = await save(api)
    reply = await api.post("workflows", workflow_id, "run", params={"wait": 5})
    assert reply.code == 200, reply.raw
    assert reply.body["status"] == "completed"
    assert reply.body["finalState"]["greeting"] == "hello world"
    assert "Location" not in reply.headers


async def test_run_with_a_short_wait_on_a_long_run_is_202(api):
    workflow_id = await save(api, WAIT_30)
    reply = await api.post("workflows", workflow_id, "run", params={"wait": "0.2"})
    assert reply.code == 202
    assert reply.body["status"] in ("queued", "running")
    cancelled = await api.post("executions", reply.body["id"], "cancel")
    assert cancelled.code == 200


async def test_run_wait_out_of_range_is_400(api):
    workflow_id = await save(api)
    for wait in ("-1", "301", "soon", "nan"):
        reply = await api.post("workflows", workflow_id, "run", params={"wait": wait})
        assert reply.code == 400, wait
    bad_state = await api.post("workflows", workflow_id, "run", json_body={"initialState": [1]})
    assert bad_state.code == 400
    assert bad_state.error["details"] == {"field": "initialState"}


async def test_a_failing_run_ends_failed_with_its_error(api):
    workflow_id = await save(api, {"end": {"status": "failed", "message": "nope"}})
    reply = await api.post("workflows", workflow_id, "run", params={"wait": 5})
    assert reply.code == 200
    assert reply.body["status"] == "failed"
    assert "nope" in str(reply.body["error"])


async def test_cancel_mid_run(api):
    workflow_id = await save(api, WAIT_30)
    started = await api.post("workflows", workflow_id, "run")
    assert started.code == 202
    run_id = started.body["id"]
    await api.wait_for_status(run_id, {"running"})
    cancelled = await api.post("executions", run_id, "cancel")
    assert cancelled.code == 200, cancelled.raw
    assert cancelled.body["status"] == "cancelled"
    assert cancelled.body["endedAt"]
    again = await api.post("executions", run_id, "cancel")
    assert again.code == 422
    assert again.error["code"] == "UNPROCESSABLE"


async def test_delete_a_running_run_is_422_then_204_once_ended(api):
    workflow_id = await save(api, WAIT_30)
    run_id = (await api.post("workflows", workflow_id, "run")).body["id"]
    await api.wait_for_status(run_id, {"running"})
    refused = await api.delete("executions", run_id)
    assert refused.code == 422
    await api.post("executions", run_id, "cancel")
    deleted = await api.delete("executions", run_id)
    assert deleted.code == 204
    assert (await api.get("executions", run_id)).code == 404


async def test_rerun_and_timeline(api):
    workflow_id = await save(api)
    first = await api.post(
        "workflows",
        workflow_id,
        "run",
        params={"wait": 5},
        json_body={"initialState": {"who": "x"}},
    )
    assert first.code == 200
    run_id = first.body["id"]

    timeline = await api.get("executions", run_id, "timeline")
    assert timeline.code == 200
    assert timeline.body["executionId"] == run_id
    assert timeline.body["timeline"] == first.body["timeline"]
    assert timeline.body["live"] is False  # ended: the stored timeline

    rerun = await api.post("executions", run_id, "rerun")
    assert rerun.code == 202, rerun.raw
    assert rerun.body["id"] != run_id
    assert rerun.headers["Location"].endswith(rerun.body["id"])
    done = await api.wait_for_status(rerun.body["id"], FINISHED)
    assert done["status"] == "completed"
    assert done["finalState"]["greeting"] == "hello x"  # same initial state


async def test_a_running_run_has_a_live_timeline_with_its_node_going_on(api):
    workflow_id = await save(api, {"log": {"message": "first"}}, WAIT_30)
    run_id = (await api.post("workflows", workflow_id, "run")).body["id"]
    try:
        running: list[dict] = []
        for _ in range(100):  # until the wait node has started (the log node has ended)
            reply = await api.get("executions", run_id, "timeline")
            assert reply.code == 200, reply.raw
            running = [e for e in reply.body["timeline"] if e.get("running")]
            if running:
                break
            await asyncio.sleep(0.05)
        assert reply.body["live"] is True
        ended = [e for e in reply.body["timeline"] if not e.get("running")]
        assert [e["type"] for e in ended] == ["log"]
        assert [(e["type"], e["edge"]) for e in running] == [("wait", None)]
        assert running[0]["durationMs"] >= 0 and running[0]["startedAt"].endswith("Z")
    finally:
        await api.post("executions", run_id, "cancel")
    stored = await api.get("executions", run_id, "timeline")
    assert stored.body["live"] is False
    assert not any(e.get("running") for e in stored.body["timeline"])


async def test_list_filters_and_pages(api):
    ok_id = await save(api)
    bad_id = await save(api, {"end": {"status": "failed", "message": "no"}})
    for _ in range(3):
        assert (await api.post("workflows", ok_id, "run", params={"wait": 5})).code == 200
    assert (await api.post("workflows", bad_id, "run", params={"wait": 5})).code == 200

    everything = await api.get("executions")
    assert everything.code == 200
    items = everything.body["items"]
    assert len(items) == 4 and everything.body["nextCursor"] is None
    assert all(set(item) == SUMMARY_KEYS for item in items)  # no states, no timeline
    assert [i["createdAt"] for i in items] == sorted((i["createdAt"] for i in items), reverse=True)

    by_workflow = await api.get("executions", params={"workflowId": bad_id})
    assert [i["workflowId"] for i in by_workflow.body["items"]] == [bad_id]
    failed = await api.get("executions", params={"status": "failed"})
    assert [i["status"] for i in failed.body["items"]] == ["failed"]
    both = await api.get("executions", params={"status": "failed,completed"})
    assert len(both.body["items"]) == 4
    by_trigger = await api.get("executions", params={"trigger": "api"})
    assert len(by_trigger.body["items"]) == 4
    none = await api.get("executions", params={"trigger": "cron"})
    assert none.body["items"] == []

    page = await api.get("executions", params={"limit": 3})
    assert len(page.body["items"]) == 3 and page.body["nextCursor"]
    rest = await api.get("executions", params={"limit": 3, "cursor": page.body["nextCursor"]})
    assert len(rest.body["items"]) == 1

    newest = items[0]["createdAt"]
    after = await api.get("executions", params={"createdAfter": items[-1]["createdAt"]})
    assert len(after.body["items"]) in (3, 4)
    before = await api.get("executions", params={"createdBefore": newest})
    assert len(before.body["items"]) in (3, 4)
    future = await api.get("executions", params={"createdAfter": "2999-01-01T00:00:00Z"})
    assert future.body["items"] == []


async def test_list_refuses_bad_filters(api):
    for params in (
        {"status": "sleeping"},
        {"createdAfter": "yesterday"},
        {"limit": "0"},
        {"limit": "1000"},
    ):
        reply = await api.get("executions", params=params)
        assert reply.code == 400, params
        assert reply.error["code"] == "BAD_REQUEST"


async def test_unknown_execution_ids_are_404(api):
    for reply in (
        await api.get("executions", MISSING),
        await api.delete("executions", MISSING),
        await api.get("executions", MISSING, "timeline"),
        await api.post("executions", MISSING, "cancel"),
        await api.post("executions", MISSING, "rerun"),
    ):
        assert reply.code == 404
        assert reply.error["code"] == "NOT_FOUND"
