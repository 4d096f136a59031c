"""The REST handlers, one module per resource. Every verb is ``@web.authenticated`` and
``@authorized`` with a ``workscript:<resource>`` auth resource: a test checks it."""

from __future__ import annotations

from .aliases import CreateAliasHandler, RunAliasHandler, ValidateHandler
from .automations import (
    AutomationExecuteHandler,
    AutomationExecutionsHandler,
    AutomationFiresHandler,
    AutomationHandler,
    AutomationsHandler,
    AutomationStatsHandler,
    AutomationToggleHandler,
    AutomationWebhookRotateHandler,
    CronValidateHandler,
    SchedulerStatusHandler,
    WebhookHandler,
)
from .executions import (
    ExecutionCancelHandler,
    ExecutionHandler,
    ExecutionRerunHandler,
    ExecutionsHandler,
    ExecutionTimelineHandler,
)
from .health import HealthHandler, NotFoundHandler
from .nodes import NodesHandler
from .workflows import WorkflowHandler, WorkflowRunHandler, WorkflowsHandler

__all__ = [
    "AutomationExecuteHandler",
    "AutomationExecutionsHandler",
    "AutomationFiresHandler",
    "AutomationHandler",
    "AutomationStatsHandler",
    "AutomationToggleHandler",
    "AutomationWebhookRotateHandler",
    "AutomationsHandler",
    "CreateAliasHandler",
    "CronValidateHandler",
    "ExecutionCancelHandler",
    "ExecutionHandler",
    "ExecutionRerunHandler",
    "ExecutionTimelineHandler",
    "ExecutionsHandler",
    "HealthHandler",
    "NodesHandler",
    "NotFoundHandler",
    "RunAliasHandler",
    "SchedulerStatusHandler",
    "ValidateHandler",
    "WebhookHandler",
    "WorkflowHandler",
    "WorkflowRunHandler",
    "WorkflowsHandler",
]
