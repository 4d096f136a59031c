"""Saved workflows: list, create, read, update, delete, and run one.

- ``GET|POST /workscript/workflows``
- ``GET|PUT|DELETE /workscript/workflows/{id}``
- ``POST /workscript/workflows/{id}/run`` (``?wait=SECONDS``)
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import WorkscriptHandler, bad_request
from ..serialize import FINISHED_STATUSES, execution_json, page_json, workflow_json

__all__ = [
    "WORKFLOW_FIELDS",
    "WorkflowHandler",
    "WorkflowRunHandler",
    "WorkflowsHandler",
    "optional_object",
    "optional_string",
    "required_definition",
]

WORKFLOW_FIELDS = ("name", "description", "version", "definition")


def optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name} must be a string", {"field": name})
    return value


def optional_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise bad_request(f"{name} must be a JSON object", {"field": name})
    return value


def required_definition(body: dict[str, Any]) -> dict[str, Any]:
    definition = optional_object(body, "definition")
    if definition is None:
        raise bad_request("definition (the workflow document) is required", {"field": "definition"})
    return definition


class WorkflowsHandler(WorkscriptHandler):
    """``GET /workscript/workflows`` (a page) and ``POST`` (create, 201)."""

    auth_resource = "workscript:workflows"
    permissions = {"GET": "workflow:read", "POST": "workflow:create"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        caller = await self.caller()
        page = await self.workflows.list_workflows(
            caller,
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
            name_contains=self.query_str("name"),
        )
        self.write_json(page_json(page, workflow_json))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        definition = required_definition(body)
        record = await self.workflows.create_workflow(
            await self.caller(),
            definition,
            name=optional_string(body, "name"),
            description=optional_string(body, "description"),
            version=optional_string(body, "version"),
        )
        self.set_header("Location", self.location("workflows", record.id))
        self.write_json(workflow_json(record), 201)


class WorkflowHandler(WorkscriptHandler):
    """``GET|PUT|DELETE /workscript/workflows/{id}``."""

    auth_resource = "workscript:workflows"
    permissions = {"GET": "workflow:read", "PUT": "workflow:update", "DELETE": "workflow:delete"}

    @web.authenticated
    @authorized
    async def get(self, workflow_id: str) -> None:
        record = await self.workflows.get_workflow(await self.caller(), workflow_id)
        self.write_json(workflow_json(record))

    @web.authenticated
    @authorized
    async def put(self, workflow_id: str) -> None:
        body = self.json_object()
        unknown = sorted(set(body) - set(WORKFLOW_FIELDS))
        if unknown:
            raise bad_request(
                f"unknown field(s) {', '.join(unknown)}; a workflow has "
                f"{', '.join(WORKFLOW_FIELDS)}",
                {"fields": unknown},
            )
        changes: dict[str, Any] = {}
        for name in ("name", "description", "version"):
            if name in body:
                value = optional_string(body, name)
                if value is None:
                    raise bad_request(f"{name} must be a string", {"field": name})
                changes[name] = value
        if "definition" in body:
            changes["definition"] = required_definition(body)
        if not changes:
            raise bad_request(f"nothing to change: send any of {', '.join(WORKFLOW_FIELDS)}")
        record = await self.workflows.update_workflow(await self.caller(), workflow_id, changes)
        self.write_json(workflow_json(record))

    @web.authenticated
    @authorized
    async def delete(self, workflow_id: str) -> None:
        await self.workflows.delete_workflow(await self.caller(), workflow_id)
        self.write_json(None, 204)


class WorkflowRunHandler(WorkscriptHandler):
    """``POST /workscript/workflows/{id}/run``: 202 + Location, or 200 if it ended in ``wait``."""

    auth_resource = "workscript:executions"
    permissions = {"POST": "workflow:execute"}

    @web.authenticated
    @authorized
    async def post(self, workflow_id: str) -> None:
        wait = self.query_seconds("wait", high=self.run_wait_max_seconds)
        body = self.json_object(required=False)
        initial_state = optional_object(body, "initialState")
        caller = await self.caller()
        record = await self.runs.start_run(
            caller, workflow_id=workflow_id, initial_state=initial_state, trigger="api"
        )
        if wait > 0:
            record = await self.runs.wait_for(caller, record.id, wait)
        if record.status in FINISHED_STATUSES:
            self.write_json(execution_json(record), 200)
            return
        self.set_header("Location", self.location("executions", record.id))
        self.write_json(execution_json(record), 202)
