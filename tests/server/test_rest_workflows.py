"""The workflows resource through a real server: CRUD, paging, validation, body errors."""

from __future__ import annotations

import re

from .conftest import document

MISSING = "0" * 32
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_create_get_update_delete(api):
    created = await api.post(
        "workflows", json_body={"definition": document(), "description": "says hello"}
    )
    assert created.code == 201, created.raw
    workflow = created.body
    assert set(workflow) == {
        "id",
        "name",
        "description",
        "version",
        "definition",
        "ownerId",
        "createdAt",
        "updatedAt",
    }
    assert re.fullmatch(r"[a-f0-9]{32}", workflow["id"])
    assert workflow["name"] == "Test flow"  # from the definition
    assert workflow["description"] == "says hello"
    assert workflow["version"] == "1.0.0"
    assert workflow["definition"]["id"].startswith("test-flow-")
    assert ISO_Z.match(workflow["createdAt"]) and ISO_Z.match(workflow["updatedAt"])
    assert created.headers["Location"].endswith(f"/workscript/workflows/{workflow['id']}")

    got = await api.get("workflows", workflow["id"])
    assert got.code == 200 and got.body == workflow

    renamed = await api.put("workflows", workflow["id"], json_body={"name": "Renamed"})
    assert renamed.code == 200, renamed.raw
    assert renamed.body["name"] == "Renamed"
    assert renamed.body["definition"] == workflow["definition"]

    new_definition = document({"$.n": 2})
    redefined = await api.put(
        "workflows", workflow["id"], json_body={"definition": new_definition, "version": "2.0.0"}
    )
    assert redefined.code == 200
    assert redefined.body["definition"]["workflow"] == [{"$.n": 2}]
    assert redefined.body["version"] == "2.0.0"

    deleted = await api.delete("workflows", workflow["id"])
    assert deleted.code == 204 and deleted.raw == b""
    gone = await api.get("workflows", workflow["id"])
    assert gone.code == 404
    assert gone.error["code"] == "NOT_FOUND"


async def test_explicit_name_and_version_win_over_the_definition(api):
    reply = await api.post(
        "workflows", json_body={"definition": document(), "name": "Mine", "version": "9.9.9"}
    )
    assert reply.code == 201
    assert (reply.body["name"], reply.body["version"]) == ("Mine", "9.9.9")


async def test_list_pages_and_filters_by_name(api):
    for i in range(5):
        reply = await api.post("workflows", json_body={"definition": document(name=f"flow {i}")})
        assert reply.code == 201
    await api.post("workflows", json_body={"definition": document(name="other")})

    first = await api.get("workflows", params={"limit": 4})
    assert first.code == 200
    assert len(first.body["items"]) == 4 and first.body["nextCursor"]
    second = await api.get("workflows", params={"limit": 4, "cursor": first.body["nextCursor"]})
    assert len(second.body["items"]) == 2 and second.body["nextCursor"] is None
    ids = {w["id"] for w in first.body["items"] + second.body["items"]}
    assert len(ids) == 6

    named = await api.get("workflows", params={"name": "flow"})
    assert sorted(w["name"] for w in named.body["items"]) == [f"flow {i}" for i in range(5)]


async def test_list_limit_out_of_range_is_400(api):
    for limit in ("0", "201", "ten"):
        reply = await api.get("workflows", params={"limit": limit})
        assert reply.code == 400, limit
        assert reply.error["code"] == "BAD_REQUEST"


async def test_schema_invalid_workflow_is_400_with_paths(api):
    bad = {"id": "x", "workflow": [{"no-such-node": {}}]}
    reply = await api.post("workflows", json_body={"definition": bad})
    assert reply.code == 400
    error = reply.error
    assert error["code"] == "WORKFLOW_VALIDATION_ERROR"
    paths = {issue["path"] for issue in error["details"]}
    assert {"/name", "/workflow/0"} <= paths
    assert all(set(issue) == {"path", "message", "code"} for issue in error["details"])


async def test_update_revalidates_the_definition(api):
    created = (await api.post("workflows", json_body={"definition": document()})).body
    reply = await api.put(
        "workflows", created["id"], json_body={"definition": {"id": "x", "workflow": "nope"}}
    )
    assert reply.code == 400
    assert reply.error["code"] == "WORKFLOW_VALIDATION_ERROR"
    assert reply.error["details"]
    unchanged = await api.get("workflows", created["id"])
    assert unchanged.body["definition"] == created["definition"]


async def test_update_refuses_unknown_or_empty_changes(api):
    created = (await api.post("workflows", json_body={"definition": document()})).body
    unknown = await api.put("workflows", created["id"], json_body={"colour": "red"})
    assert unknown.code == 400 and unknown.error["details"] == {"fields": ["colour"]}
    empty = await api.put("workflows", created["id"], json_body={})
    assert empty.code == 400
    wrong_type = await api.put("workflows", created["id"], json_body={"name": 3})
    assert wrong_type.code == 400 and wrong_type.error["details"] == {"field": "name"}


async def test_bad_json_is_400_with_the_position(api):
    reply = await api.post(
        "workflows", body='{"definition": {', headers={"Content-Type": "application/json"}
    )
    assert reply.code == 400
    assert reply.error["code"] == "BAD_REQUEST"
    assert "line 1 column 17" in reply.error["message"]
    assert reply.error["details"]["position"] == 16


async def test_wrong_content_type_is_415(api):
    reply = await api.post(
        "workflows",
        body='{"definition": {}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.code == 415
    assert reply.error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    text = await api.post("workflows", body="definition", headers={"Content-Type": "text/plain"})
    assert text.code == 415


async def test_a_charset_parameter_is_fine(api):
    reply = await api.post(
        "workflows",
        body='{"definition": ' + __import__("json").dumps(document()) + "}",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert reply.code == 201


async def test_missing_body_or_definition_is_400(api):
    empty = await api.post("workflows")
    assert empty.code == 400 and empty.error["code"] == "BAD_REQUEST"
    no_definition = await api.post("workflows", json_body={"name": "x"})
    assert no_definition.code == 400
    assert no_definition.error["details"] == {"field": "definition"}
    array = await api.post("workflows", json_body=[1, 2])
    assert array.code == 400 and "object" in array.error["message"]


async def test_unknown_ids_are_404(api):
    for method in ("get", "put", "delete"):
        kwargs = {"json_body": {"name": "x"}} if method == "put" else {}
        reply = await getattr(api, method)("workflows", MISSING, **kwargs)
        assert reply.code == 404, method
        assert reply.error["code"] == "NOT_FOUND"
    run = await api.post("workflows", MISSING, "run")
    assert run.code == 404


async def test_paths_that_are_not_routes_get_a_json_404(api):
    for parts in (("workflows", "not-an-id"), ("nothing-here",), ("executions", "x", "y")):
        reply = await api.get(*parts)
        assert reply.code == 404, parts
        assert reply.error["code"] == "NOT_FOUND"


async def test_errors_need_authentication_first(api):
    reply = await api.post(
        "workflows", json_body={"definition": document()}, headers={"Authorization": "token bad"}
    )
    assert reply.code in (401, 403)
