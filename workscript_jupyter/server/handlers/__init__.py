"""The REST handlers, one module per resource. Every verb is ``@web.authenticated`` and
``@authorized`` with a ``workscript:<resource>`` auth resource: a test checks it."""

from __future__ import annotations

from .aliases import CreateAliasHandler, RunAliasHandler, ValidateHandler
from .auth import (
    ChangePasswordHandler,
    LoginHandler,
    LogoutHandler,
    MeHandler,
    PasswordResetHandler,
    PasswordResetPageHandler,
    RefreshHandler,
    RegisterHandler,
)
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
from .keys import KeyHandler, KeysHandler, UserHandler, UsersHandler
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
    "ChangePasswordHandler",
    "CreateAliasHandler",
    "CronValidateHandler",
    "ExecutionCancelHandler",
    "ExecutionHandler",
    "ExecutionRerunHandler",
    "ExecutionTimelineHandler",
    "ExecutionsHandler",
    "HealthHandler",
    "KeyHandler",
    "KeysHandler",
    "LoginHandler",
    "LogoutHandler",
    "MeHandler",
    "NodesHandler",
    "NotFoundHandler",
    "PasswordResetHandler",
    "PasswordResetPageHandler",
    "RefreshHandler",
    "RegisterHandler",
    "RunAliasHandler",
    "SchedulerStatusHandler",
    "UserHandler",
    "UsersHandler",
    "ValidateHandler",
    "WebhookHandler",
    "WorkflowHandler",
    "WorkflowRunHandler",
    "WorkflowsHandler",
]
