"""The REST handlers, one module per resource. Every verb is ``@web.authenticated`` and
``@authorized`` with a ``workscript:<resource>`` auth resource: a test checks it."""

from __future__ import annotations

from .aliases import CreateAliasHandler, RunAliasHandler, ValidateHandler
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
    "CreateAliasHandler",
    "ExecutionCancelHandler",
    "ExecutionHandler",
    "ExecutionRerunHandler",
    "ExecutionTimelineHandler",
    "ExecutionsHandler",
    "HealthHandler",
    "NodesHandler",
    "NotFoundHandler",
    "RunAliasHandler",
    "ValidateHandler",
    "WorkflowHandler",
    "WorkflowRunHandler",
    "WorkflowsHandler",
]
