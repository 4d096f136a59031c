"""The original's routes: POST /workscript/workflows/validate|create|run, with its bodies."""

from __future__ import annotations

from .conftest import document


async def test_validate_a_valid_definition(api):
    wrapped = await api.post("workflows", "validate", json_body={"definition": document()})
    assert wrapped.code == 200
    assert wrapped.body == {"valid": True, "errors": []}
    bare = await api.post("workflows", "validate", json_body=document())
    assert bare.code == 200 and bare.body["valid"] is True


async def test_validate_an_invalid_definition_lists_paths(api):
    reply = await api.post(
        "workflows", "validate", json_body={"definition": {"id": "x", "workflow": [{"zz": {}}]}}
    )
    assert reply.code == 200
    assert reply.body["valid"] is False
    paths = {e["path"] for e in reply.body["errors"]}
    assert "/workflow/0" in paths
    assert all(set(e) == {"path", "message", "code"} for e in reply.body["errors"])
    not_an_object = await api.post("workflows", "validate", json_body=[1])
    assert not_an_object.code == 200 and not_an_object.body["valid"] is False


async def test_validate_body_errors(api):
    assert (await api.post("workflows", "validate")).code == 400
    bad = await api.post(
        "workflows", "validate", body="{", headers={"Content-Type": "application/json"}
    )
    assert bad.code == 400
    wrong = await api.post("workflows", "validate", body="{}", headers={"Content-Type": "text/x"})
    assert wrong.code == 415


async def test_create_alias(api):
    reply = await api.post(
        "workflows",
        "create",
        json_body={
            "name": "Alias made",
            "description": "from the original's route",
            "version": "1.2.3",
            "definition": document(),
        },
    )
    assert reply.code == 201, reply.raw
    assert reply.body["name"] == "Alias made"
    assert reply.body["version"] == "1.2.3"
    listed = await api.get("workflows")
    assert [w["id"] for w in listed.body["items"]] == [reply.body["id"]]
    invalid = await api.post("workflows", "create", json_body={"name": "x", "definition": {}})
    assert invalid.code == 400
    assert invalid.error["code"] == "WORKFLOW_VALIDATION_ERROR"


async def test_run_alias_with_a_definition_waits_for_the_end(api):
    reply = await api.post(
        "workflows", "run", json_body={"definition": document(), "initialState": {"who": "me"}}
    )
    assert reply.code == 200, reply.raw
    body = reply.body
    assert set(body) == {
        "executionId",
        "workflowId",
        "status",
        "finalState",
        "error",
        "startedAt",
        "endedAt",
        "durationMs",
        "nodeRuns",
    }
    assert body["status"] == "completed"
    assert body["finalState"]["greeting"] == "hello me"
    run = await api.get("executions", body["executionId"])
    assert run.code == 200 and run.body["status"] == "completed"


async def test_run_alias_with_a_saved_workflow(api):
    saved = await api.post("workflows", json_body={"definition": document()})
    reply = await api.post("workflows", "run", json_body={"workflowId": saved.body["id"]})
    assert reply.code == 200
    assert reply.body["workflowId"] == saved.body["id"]
    assert reply.body["finalState"]["greeting"] == "hello world"


async def test_run_alias_errors(api):
    neither = await api.post("workflows", "run", json_body={"initialState": {}})
    assert neither.code == 400
    both = await api.post(
        "workflows", "run", json_body={"definition": document(), "workflowId": "a" * 32}
    )
    assert both.code == 400
    invalid = await api.post("workflows", "run", json_body={"definition": {"id": "x"}})
    assert invalid.code == 400
    assert invalid.error["code"] == "WORKFLOW_VALIDATION_ERROR"
    missing = await api.post("workflows", "run", json_body={"workflowId": "a" * 32})
    assert missing.code == 404
