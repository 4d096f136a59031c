"""Runs: list, read, delete, timeline, cancel and rerun.

- ``GET /workscript/executions`` (filters, ``hasWarnings=true|false`` among them; paging)
- ``GET|DELETE /workscript/executions/{id}``
- ``GET /workscript/executions/{id}/timeline``
- ``POST /workscript/executions/{id}/cancel`` and ``.../rerun``
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import WorkscriptHandler, bad_request
from ..serialize import execution_json, execution_summary_json, page_json

__all__ = [
    "EXECUTION_STATUSES",
    "ExecutionCancelHandler",
    "ExecutionHandler",
    "ExecutionRerunHandler",
    "ExecutionTimelineHandler",
    "ExecutionsHandler",
]

EXECUTION_STATUSES = (
    "queued",
    "running",
    "completed",
    "failed",
    "timed_out",
    "cancelled",
    "interrupted",
)


class ExecutionsHandler(WorkscriptHandler):
    """``GET /workscript/executions``: a page of run summaries, newest first."""

    auth_resource = "workscript:executions"
    permissions = {"GET": "execution:read"}

    def _statuses(self) -> list[str] | None:
        statuses = [
            part.strip()
            for raw in self.get_query_arguments("status")
            for part in raw.split(",")
            if part.strip()
        ]
        unknown = sorted(set(statuses) - set(EXECUTION_STATUSES))
        if unknown:
            raise bad_request(
                f"unknown status {', '.join(unknown)}; one of {', '.join(EXECUTION_STATUSES)}",
                {"field": "status", "values": unknown},
            )
        return statuses or None

    def _has_warnings(self) -> bool | None:
        raw = self.get_query_argument("hasWarnings", None)
        if raw is None or raw == "":
            return None
        if raw not in ("true", "false"):
            raise bad_request(
                f"hasWarnings must be true or false, not {raw[:40]!r}", {"field": "hasWarnings"}
            )
        return raw == "true"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        created_after = self.query_time("createdAfter")
        created_before = self.query_time("createdBefore")
        page = await self.runs.list_executions(
            await self.caller(),
            workflow_id=self.query_str("workflowId"),
            status=self._statuses(),
            trigger=self.query_str("trigger"),
            created_after=created_after,
            created_before=created_before,
            has_warnings=self._has_warnings(),
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        self.write_json(page_json(page, execution_summary_json))


class ExecutionHandler(WorkscriptHandler):
    """``GET|DELETE /workscript/executions/{id}``."""

    auth_resource = "workscript:executions"
    permissions = {"GET": "execution:read", "DELETE": "execution:rerun"}

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        record = await self.runs.get_execution(await self.caller(), execution_id)
        self.write_json(execution_json(record))

    @web.authenticated
    @authorized
    async def delete(self, execution_id: str) -> None:
        await self.runs.delete_execution(await self.caller(), execution_id)
        self.write_json(None, 204)


class ExecutionTimelineHandler(WorkscriptHandler):
    """``GET /workscript/executions/{id}/timeline``."""

    auth_resource = "workscript:executions"
    permissions = {"GET": "execution:read"}

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        timeline, live = await self.runs.get_timeline(await self.caller(), execution_id)
        self.write_json({"executionId": execution_id, "timeline": timeline, "live": live})


class ExecutionCancelHandler(WorkscriptHandler):
    """``POST /workscript/executions/{id}/cancel``: 200 with the cancelled run."""

    auth_resource = "workscript:executions"
    permissions = {"POST": "execution:rerun"}

    @web.authenticated
    @authorized
    async def post(self, execution_id: str) -> None:
        self.json_body(required=False)  # no body needed; a sent one must still be JSON
        record = await self.runs.cancel_execution(await self.caller(), execution_id)
        self.write_json(execution_json(record))


class ExecutionRerunHandler(WorkscriptHandler):
    """``POST /workscript/executions/{id}/rerun``: 202 with the new run and its Location."""

    auth_resource = "workscript:executions"
    permissions = {"POST": "execution:rerun"}

    @web.authenticated
    @authorized
    async def post(self, execution_id: str) -> None:
        self.json_body(required=False)
        record = await self.runs.rerun_execution(await self.caller(), execution_id)
        self.set_header("Location", self.location("executions", record.id))
        self.write_json(execution_json(record), 202)
