"""A saved workflow answers to its record id and to its owner's definition id (issue 13, 18).

The original's clients create ``{definition: {id: "daily-report", ...}}`` and run
``{workflowId: "daily-report"}``: every route that takes a workflow id takes either, and a second
create with the same definition id is a 409 that says to update instead.
"""

from __future__ import annotations

from typing import Any

from .conftest import Api, document

FINISHED = {"completed", "failed", "timed_out", "cancelled"}
INTERNAL = {"_edgeContext", "_lastStateSet"}


def report(*steps: Any, definition_id: str = "daily-report") -> dict[str, Any]:
    steps = steps or ({"$.greeting": "hello {{$.who}}"},)
    return document(*steps, id=definition_id, name="Daily report")


async def _create(api: Api, definition: dict[str, Any]) -> dict[str, Any]:
    reply = await api.post("workflows", json_body={"definition": definition})
    assert reply.code == 201, reply.raw
    return dict(reply.body)


async def test_a_second_create_with_the_same_definition_id_is_a_409(api):
    first = await _create(api, report())
    for route in (("workflows",), ("workflows", "create")):
        again = await api.post(*route, json_body={"definition": report({"$.n": 2})})
        assert again.code == 409, (route, again.raw)
        assert again.error["code"] == "CONFLICT"
        assert again.error["message"] == (
            f"a workflow with id 'daily-report' already exists (record {first['id']}): "
            f"update it with PUT /workscript/workflows/{first['id']}"
        )
    listed = await api.get("workflows")
    assert [w["id"] for w in listed.body["items"]] == [first["id"]]

    # updating: the definition id follows the definition, and a taken one is a 409 too
    other = await _create(api, report(definition_id="weekly-report"))
    taken = await api.put("workflows", other["id"], json_body={"definition": report()})
    assert taken.code == 409, taken.raw
    assert f"(record {first['id']})" in taken.error["message"]
    moved = await api.put(
        "workflows", other["id"], json_body={"definition": report(definition_id="monthly")}
    )
    assert moved.code == 200, moved.raw
    assert (await api.get("workflows", "monthly")).body["id"] == other["id"]
    assert (await api.get("workflows", "weekly-report")).code == 404
    too_long = await api.post(
        "workflows", json_body={"definition": report(definition_id="x" * 201)}
    )
    assert too_long.code == 400 and "longer than 200" in too_long.error["message"]


async def test_every_workflow_route_takes_the_definition_id(api):
    created = await _create(api, report({"$.greeting": "hello {{$.who}}"}, {"log": {}}))
    got = await api.get("workflows", "daily-report")
    assert got.code == 200 and got.body == created

    renamed = await api.put("workflows", "daily-report", json_body={"name": "Renamed"})
    assert renamed.code == 200 and renamed.body["id"] == created["id"]

    # POST /workflows/{id}/run
    run = await api.post(
        "workflows", "daily-report", "run", params={"wait": "10"},
        json_body={"initialState": {"who": "route"}},
    )  # fmt: skip
    assert run.code in (200, 202), run.raw
    record = await api.wait_for_status(run.body["id"], FINISHED)
    assert record["status"] == "completed", record
    assert record["workflowId"] == created["id"]  # the run names the record
    assert record["finalState"]["greeting"] == "hello route"
    assert not INTERNAL & set(record["finalState"])  # no engine bookkeeping

    # the original's alias: POST /workflows/run {workflowId}
    alias = await api.post(
        "workflows", "run", json_body={"workflowId": "daily-report", "initialState": {"who": "a"}}
    )
    assert alias.code == 200, alias.raw
    assert alias.body["status"] == "completed"
    assert alias.body["workflowId"] == created["id"]
    assert alias.body["finalState"]["greeting"] == "hello a"
    assert not INTERNAL & set(alias.body["finalState"])

    deleted = await api.delete("workflows", "daily-report")
    assert deleted.code == 204
    assert (await api.get("workflows", created["id"])).code == 404
    gone = await api.post("workflows", "run", json_body={"workflowId": "daily-report"})
    assert gone.code == 404 and "daily-report" in gone.error["message"]


async def test_an_automation_takes_the_definition_id_and_keeps_the_record(api):
    created = await _create(api, report())
    body = {"name": "nightly", "workflowId": "daily-report", "triggerType": "manual"}
    automation = await api.post("automations", json_body=body)
    assert automation.code == 201, automation.raw
    assert automation.body["workflowId"] == created["id"]  # bound to the record
    started = await api.post("automations", automation.body["id"], "execute")
    assert started.code == 202, started.raw
    run = await api.wait_for_status(started.body["id"], FINISHED)
    assert run["status"] == "completed" and run["workflowId"] == created["id"]
    unknown = await api.post("automations", json_body={**body, "workflowId": "no-such-report"})
    assert unknown.code == 400 and "no-such-report" in unknown.error["message"]
