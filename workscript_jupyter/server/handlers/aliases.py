"""The original's routes: ``POST /workscript/workflows/validate|create|run``.

``validate`` is also the resource-style validation endpoint. ``create`` is ``POST /workflows``
under its old name. ``run`` runs a definition (or a saved workflow) and answers when it ended,
waiting at most ``WorkscriptApp.run_wait_max_seconds``; a run still going then gets 202 with
the same body and a ``Location`` to follow it.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import WorkscriptHandler, bad_request
from ..serialize import FINISHED_STATUSES, run_result_json, workflow_json
from .workflows import optional_object, optional_string, required_definition

__all__ = ["CreateAliasHandler", "RunAliasHandler", "ValidateHandler"]


class ValidateHandler(WorkscriptHandler):
    """``POST /workscript/workflows/validate`` with ``{definition}`` or the bare definition."""

    auth_resource = "workscript:workflows"
    permissions = {"POST": None}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body: Any = self.json_body()
        definition = body
        if isinstance(body, dict) and "definition" in body and "workflow" not in body:
            definition = body["definition"]
        issues = await self.workflows.validate_async(definition)
        self.write_json({"valid": not issues, "errors": [issue.to_dict() for issue in issues]})


class CreateAliasHandler(WorkscriptHandler):
    """``POST /workscript/workflows/create`` ``{name, description, version, definition}``."""

    auth_resource = "workscript:workflows"
    permissions = {"POST": "workflow:create"}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        record = await self.workflows.create_workflow(
            await self.caller(),
            required_definition(body),
            name=optional_string(body, "name"),
            description=optional_string(body, "description"),
            version=optional_string(body, "version"),
        )
        self.set_header("Location", self.location("workflows", record.id))
        self.write_json(workflow_json(record), 201)


class RunAliasHandler(WorkscriptHandler):
    """``POST /workscript/workflows/run`` ``{definition | workflowId, initialState}``."""

    auth_resource = "workscript:executions"
    permissions = {"POST": "workflow:execute"}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        definition = optional_object(body, "definition")
        workflow_id = optional_string(body, "workflowId")
        if (definition is None) == (workflow_id is None):
            raise bad_request("send either definition or workflowId", {"fields": list(body)})
        caller = await self.caller()
        record = await self.runs.start_run(
            caller,
            workflow_id=workflow_id,
            definition=definition,
            initial_state=optional_object(body, "initialState"),
            trigger="api",
        )
        record = await self.runs.wait_for(caller, record.id, self.run_wait_max_seconds)
        if record.status in FINISHED_STATUSES:
            self.write_json(run_result_json(record), 200)
            return
        self.set_header("Location", self.location("executions", record.id))
        self.write_json(run_result_json(record), 202)
