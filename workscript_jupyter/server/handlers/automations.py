"""Automations, their runs and fires, cron validation, the scheduler's status, webhooks.

- ``GET|POST /workscript/automations``
- ``GET|PUT|PATCH|DELETE /workscript/automations/{id}`` (PUT and PATCH both change only the
  fields given, as the original's PUT did)
- ``PATCH /workscript/automations/{id}/toggle`` (``{"enabled": bool}``, or flip)
- ``POST /workscript/automations/{id}/execute`` (a manual run, 202)
- ``POST /workscript/automations/{id}/webhook/rotate`` (a new token, shown once)
- ``GET /workscript/automations/{id}/executions|fires|stats``
- ``POST /workscript/cron/validate``
- ``GET /workscript/scheduler/status``
- ``POST /workscript/hooks/{token}``: no Jupyter login (external callers); the token is the
  secret. Unknown, disabled or rotated token: 404 without saying which.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..base import PUBLIC, WorkscriptHandler, bad_request
from ..serialize import automation_json, execution_summary_json, fire_json, iso, page_json

__all__ = [
    "AutomationExecuteHandler",
    "AutomationExecutionsHandler",
    "AutomationFiresHandler",
    "AutomationHandler",
    "AutomationStatsHandler",
    "AutomationToggleHandler",
    "AutomationWebhookRotateHandler",
    "AutomationsHandler",
    "CronValidateHandler",
    "SchedulerStatusHandler",
    "WebhookHandler",
]

_RESOURCE = "workscript:automations"


class AutomationsHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"GET": "automation:read", "POST": "automation:create"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        enabled_arg = self.query_str("enabled")
        if enabled_arg not in (None, "true", "false"):
            raise bad_request("enabled must be true or false", {"field": "enabled"})
        page = await self.automations.list_automations(
            await self.caller(),
            enabled=None if enabled_arg is None else enabled_arg == "true",
            trigger_type=self.query_str("triggerType"),
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        self.write_json(page_json(page, automation_json))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        record, token = await self.automations.create_automation(
            await self.caller(), self.json_object()
        )
        self.set_header("Location", self.location("automations", record.id))
        self.write_json(automation_json(record, token=token), 201)


class AutomationHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {
        "GET": "automation:read",
        "PUT": "automation:update",
        "PATCH": "automation:update",
        "DELETE": "automation:delete",
    }

    @web.authenticated
    @authorized
    async def get(self, automation_id: str) -> None:
        record = await self.automations.get_automation(await self.caller(), automation_id)
        self.write_json(automation_json(record))

    async def _update(self, automation_id: str) -> None:
        record, token = await self.automations.update_automation(
            await self.caller(), automation_id, self.json_object()
        )
        self.write_json(automation_json(record, token=token))

    @web.authenticated
    @authorized
    async def put(self, automation_id: str) -> None:
        await self._update(automation_id)

    @web.authenticated
    @authorized
    async def patch(self, automation_id: str) -> None:
        await self._update(automation_id)

    @web.authenticated
    @authorized
    async def delete(self, automation_id: str) -> None:
        await self.automations.delete_automation(await self.caller(), automation_id)
        self.write_json(None, 204)


class AutomationToggleHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"PATCH": "automation:update"}

    @web.authenticated
    @authorized
    async def patch(self, automation_id: str) -> None:
        body = self.json_object(required=False)
        unknown = sorted(set(body) - {"enabled"})
        if unknown:
            raise bad_request(f"unknown field {unknown[0]!r}; only enabled", {"field": unknown[0]})
        record = await self.automations.toggle_automation(
            await self.caller(), automation_id, body.get("enabled")
        )
        self.write_json(automation_json(record))


class AutomationExecuteHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"POST": "automation:execute"}

    @web.authenticated
    @authorized
    async def post(self, automation_id: str) -> None:
        record = await self.automations.execute_automation(await self.caller(), automation_id)
        self.set_header("Location", self.location("executions", record.id))
        self.write_json(execution_summary_json(record), 202)


class AutomationWebhookRotateHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"POST": "automation:update"}

    @web.authenticated
    @authorized
    async def post(self, automation_id: str) -> None:
        record, token = await self.automations.rotate_webhook_token(
            await self.caller(), automation_id
        )
        self.write_json(automation_json(record, token=token))


class AutomationExecutionsHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"GET": "automation:read"}

    @web.authenticated
    @authorized
    async def get(self, automation_id: str) -> None:
        page = await self.automation_history.list_automation_executions(
            await self.caller(),
            automation_id,
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        self.write_json(page_json(page, execution_summary_json))


class AutomationFiresHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"GET": "automation:read"}

    @web.authenticated
    @authorized
    async def get(self, automation_id: str) -> None:
        page = await self.automation_history.list_fires(
            await self.caller(),
            automation_id,
            limit=self.query_int("limit", 50, low=1, high=200),
            cursor=self.query_str("cursor"),
        )
        self.write_json(page_json(page, fire_json))


class AutomationStatsHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"GET": "automation:read"}

    @web.authenticated
    @authorized
    async def get(self, automation_id: str) -> None:
        stats = await self.automation_history.automation_stats(await self.caller(), automation_id)
        stats["lastRunAt"] = iso(stats["lastRunAt"])
        stats["nextRunAt"] = iso(stats["nextRunAt"])
        self.write_json(stats)


class CronValidateHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"POST": None}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_object()
        unknown = sorted(set(body) - {"expression", "cronExpression", "timezone", "count"})
        if unknown:
            raise bad_request(f"unknown field {unknown[0]!r}", {"field": unknown[0]})
        expression = body.get("expression", body.get("cronExpression"))
        result = self.automation_history.validate_cron(
            expression, body.get("timezone"), body.get("count", 5)
        )
        if result.get("valid"):
            result["nextRuns"] = [iso(t) for t in result["nextRuns"]]
        self.write_json(result)


class SchedulerStatusHandler(WorkscriptHandler):
    auth_resource = _RESOURCE
    permissions = {"GET": "automation:read"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        caller = await self.caller()
        scheduler = self.workscript.get("scheduler")
        if scheduler is None:
            self.write_json({"enabled": False, "role": self.workscript.get("role")})
            return
        status: dict[str, Any] = {"enabled": True, "role": self.workscript.get("role")}
        # an admin sees the whole; a user the counts and errors of their own automations
        status.update(scheduler.status(None if caller.is_admin else caller.user_id))
        for key in ("leaderSince", "lastPassAt", "nextWakeAt"):
            status[key] = iso(status[key])
        self.write_json(status)


class WebhookHandler(WorkscriptHandler):
    """``POST /workscript/hooks/{token}``: the token in the path is the only credential."""

    auth_resource = "workscript:hooks"
    permissions = {"POST": PUBLIC}
    auth_exempt = "webhooks are called by external systems; the URL's token is the secret"

    def check_xsrf_cookie(self) -> None:
        """No cookie is involved: a forged cross-site request would need the token anyway."""

    async def prepare(self) -> None:  # type: ignore[override]
        # The route has captured the token already; what is left of the URI only feeds the
        # logs (Jupyter's access log writes it on every 4xx/5xx): never the secret.
        self.request.uri = self.logged_uri()
        await super().prepare()

    @property
    def body_limit_bytes(self) -> int:
        """``WorkscriptApp.max_webhook_body_mb`` (1 MB), never above the REST limit: anyone
        may call a webhook, so this bounds what an unauthenticated request makes us hold."""
        megabytes = float(self.workscript.get("max_webhook_body_mb", 1))
        return min(self.max_body_bytes, int(megabytes * 1024 * 1024))

    @allow_unauthenticated
    async def post(self, token: str) -> None:
        body = self.json_body(required=False)
        record = await self.automations.trigger_webhook(token, body, dict(self.request.headers))
        self.set_header("Location", self.location("executions", record.id))
        self.write_json({"executionId": record.id, "status": record.status}, 202)
