"""The one route table of the extension (the server prefixes ``base_url``).

Ids are 32 hex characters, so ``/workflows/validate``, ``/create``, ``/run`` and ``/graph``
can never be taken for ``/workflows/{id}``; they are listed first all the same. Anything else under
``/workscript/`` gets a JSON 404. The WebSocket comes from ``server/websocket.py`` when that
module is there.
"""

from __future__ import annotations

import importlib
from typing import Any

from .handlers import (
    AutomationExecuteHandler,
    AutomationExecutionsHandler,
    AutomationFiresHandler,
    AutomationHandler,
    AutomationsHandler,
    AutomationStatsHandler,
    AutomationToggleHandler,
    AutomationWebhookRotateHandler,
    ChangePasswordHandler,
    CreateAliasHandler,
    CronValidateHandler,
    ExecutionCancelHandler,
    ExecutionHandler,
    ExecutionRerunHandler,
    ExecutionsHandler,
    ExecutionTimelineHandler,
    HealthHandler,
    KeyHandler,
    KeysHandler,
    LoginHandler,
    LogoutHandler,
    MeHandler,
    NodesHandler,
    NotFoundHandler,
    PasswordResetHandler,
    PasswordResetPageHandler,
    RefreshHandler,
    RegisterHandler,
    RunAliasHandler,
    SchedulerStatusHandler,
    UserHandler,
    UsersHandler,
    ValidateHandler,
    WebhookHandler,
    WorkflowHandler,
    WorkflowRunHandler,
    WorkflowsHandler,
)
from .handlers.graph import DefinitionGraphHandler, WorkflowGraphHandler
from .openapi import OpenApiHandler

__all__ = ["FEATURE_ROUTES", "ID", "WORKFLOW_ID", "optional_module", "routes"]

ID = r"([a-f0-9]{32})"
# a workflow: its record id, or the id inside its definition (the owner's; store/definition_ids.py)
WORKFLOW_ID = r"([A-Za-z0-9_-]{1,200})"
# handler modules that bring their own ``ROUTES`` list (resources, AI, plugins, connections)
FEATURE_ROUTES = (
    "handlers.resources",
    "handlers.ai",
    "handlers.plugins",
    "handlers.connections",
)


def optional_module(name: str) -> Any:
    """``server.<name>`` if it exists (a module another issue adds), else None."""
    qualified = f"{__package__}.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as error:
        if error.name != qualified:
            raise  # the module is there but something it imports is not: a real error
        return None


def routes() -> list[tuple[str, Any]]:
    table: list[tuple[str, Any]] = [
        (r"/workscript/health", HealthHandler),
        (r"/workscript/openapi\.json", OpenApiHandler),
        (r"/workscript/nodes", NodesHandler),
        (r"/workscript/workflows", WorkflowsHandler),
        (r"/workscript/workflows/validate", ValidateHandler),
        (r"/workscript/workflows/create", CreateAliasHandler),
        (r"/workscript/workflows/run", RunAliasHandler),
        (r"/workscript/workflows/graph", DefinitionGraphHandler),
        # after validate|create|run|graph: those names stay the routes above
        (rf"/workscript/workflows/{WORKFLOW_ID}", WorkflowHandler),
        (rf"/workscript/workflows/{WORKFLOW_ID}/run", WorkflowRunHandler),
        (rf"/workscript/workflows/{WORKFLOW_ID}/graph", WorkflowGraphHandler),
        (r"/workscript/executions", ExecutionsHandler),
        (rf"/workscript/executions/{ID}", ExecutionHandler),
        (rf"/workscript/executions/{ID}/timeline", ExecutionTimelineHandler),
        (rf"/workscript/executions/{ID}/cancel", ExecutionCancelHandler),
        (rf"/workscript/executions/{ID}/rerun", ExecutionRerunHandler),
        (r"/workscript/automations", AutomationsHandler),
        (rf"/workscript/automations/{ID}", AutomationHandler),
        (rf"/workscript/automations/{ID}/toggle", AutomationToggleHandler),
        (rf"/workscript/automations/{ID}/execute", AutomationExecuteHandler),
        (rf"/workscript/automations/{ID}/webhook/rotate", AutomationWebhookRotateHandler),
        (rf"/workscript/automations/{ID}/executions", AutomationExecutionsHandler),
        (rf"/workscript/automations/{ID}/fires", AutomationFiresHandler),
        (rf"/workscript/automations/{ID}/stats", AutomationStatsHandler),
        (r"/workscript/cron/validate", CronValidateHandler),
        (r"/workscript/scheduler/status", SchedulerStatusHandler),
        (r"/workscript/hooks/([A-Za-z0-9_\-]{16,128})", WebhookHandler),
        (r"/workscript/auth/register", RegisterHandler),
        (r"/workscript/auth/login", LoginHandler),
        (r"/workscript/auth/refresh", RefreshHandler),
        (r"/workscript/auth/logout", LogoutHandler),
        (r"/workscript/auth/me", MeHandler),
        (r"/workscript/auth/change-password", ChangePasswordHandler),
        (r"/workscript/password-reset", PasswordResetPageHandler),
        (r"/workscript/password-reset/(request|validate|complete)", PasswordResetHandler),
        (r"/workscript/keys", KeysHandler),
        (rf"/workscript/keys/{ID}", KeyHandler),
        (r"/workscript/users", UsersHandler),
        (rf"/workscript/users/{ID}", UserHandler),
    ]
    for feature in FEATURE_ROUTES:  # each module's ROUTES: (pattern, handler) pairs
        module = optional_module(feature)
        if module is not None:
            table.extend(module.ROUTES)
    websocket = optional_module("websocket")
    if websocket is not None:
        table.append((r"/workscript/ws", websocket.EventSocketHandler))
        table.append((r"/workscript/ws/authenticate", websocket.FirstMessageSocketHandler))
    table.append((r"/workscript/(.*)", NotFoundHandler))
    return table
