"""Nodes, the OpenAPI document, and the route table."""

from __future__ import annotations

import re

import pytest

from workscript_jupyter import errors
from workscript_jupyter.server.base import error_payload, status_for
from workscript_jupyter.server.routes import routes


async def test_nodes_lists_the_catalogue(api):
    reply = await api.get("nodes")
    assert reply.code == 200
    nodes = reply.body["nodes"]
    ids = {node["id"] for node in nodes}
    assert {"wait", "log", "math"} <= ids


async def test_openapi_is_served_as_json(api):
    reply = await api.get("openapi.json")
    assert reply.code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    spec = reply.body
    assert spec["openapi"].startswith("3.")
    assert "/workscript/workflows" in spec["paths"] or "/workflows" in spec["paths"]


def test_the_alias_routes_come_before_the_id_routes():
    table = [pattern for pattern, _handler in routes()]
    for alias in ("validate", "create", "run"):
        pattern = f"/workscript/workflows/{alias}"
        assert pattern in table
        # an id route would never match the alias anyway: ids are 32 hex characters
        for other in table:
            if "[a-f0-9]{32}" in other and other.startswith("/workscript/workflows/"):
                assert not re.fullmatch(other, pattern)
    assert table[-1] == r"/workscript/(.*)"  # the JSON 404 catches what is left


def test_every_route_declares_a_workscript_auth_resource():
    for pattern, handler in routes():
        assert handler.auth_resource.startswith("workscript:"), pattern


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.WorkflowValidationError([errors.ValidationIssue("/a", "bad", "X")]), 400),
        (errors.BadRequestError("bad"), 400),
        (errors.PermissionDeniedError("no"), 403),
        (errors.RecordNotFoundError("workflow", "w"), 404),
        (errors.ConflictError("taken"), 409),
        (errors.PayloadTooLargeError("big"), 413),
        (errors.UnsupportedMediaTypeError("xml"), 415),
        (errors.UnprocessableError("finished"), 422),
        (errors.TooManyRunsError("slow down", retry_after=3), 429),
        (errors.StoreUnavailableError("down"), 503),
        (errors.ConfigurationError("a bug if it reaches a handler"), 500),
    ],
)
def test_the_error_mapping(error, status):
    assert status_for(error) == status
    payload = error_payload(error)["error"]
    assert payload["code"] == error.code and payload["message"] == error.message
    if isinstance(error, errors.WorkflowValidationError):
        assert payload["details"] == [{"path": "/a", "message": "bad", "code": "X"}]


async def test_a_store_outage_is_503_json(api, workscript, monkeypatch):
    async def down(*args, **kwargs):
        raise errors.StoreUnavailableError("the database cannot be reached")

    monkeypatch.setattr(workscript["workflows"], "list_workflows", down)
    reply = await api.get("workflows")
    assert reply.code == 503
    assert reply.error == {  # the store's own words stay in the server's log
        "code": "STORE_UNAVAILABLE",
        "message": "the workscript store is unavailable; try again later",
        "details": None,
    }


async def test_too_many_runs_sets_retry_after(api, workscript, monkeypatch):
    async def busy(*args, **kwargs):
        raise errors.TooManyRunsError("too many", retry_after=7)

    monkeypatch.setattr(workscript["runs"], "start_run", busy)
    reply = await api.post("workflows", "run", json_body={"definition": {}})
    assert reply.code == 429 and reply.headers["Retry-After"] == "7"


async def test_anything_else_stays_a_500(api, workscript, monkeypatch):
    def broken():
        raise RuntimeError("a bug")

    monkeypatch.setattr(workscript["workflows"], "catalogue", broken)
    reply = await api.unchecked().get("nodes")
    assert reply.code == 500
    assert "error" not in (reply.body or {})  # jupyter_server's own 500, not a mapped error
