"""The service layer: the use cases behind the REST API, the WebSocket, the kernel and the CLI.

One object per family of use cases, each given only what it needs: ``Workflows`` (save,
validate), ``Runs`` (start, follow, cancel), ``Automations`` (schedules, webhooks, fires),
``AutomationHistory`` (their runs and stats), ``RunRecovery`` (retries, dead servers' runs) and
``Identities`` (who is calling, as a ``Caller``). ``WorkscriptService`` builds them over one
store, registry and ``engine.EventBus`` and starts and stops their background work: runs are
queued in the store and executed by an in-process worker pool within ``RunLimits`` (or by
``QueueWorker`` processes). This package may import engine, nodes, scheduler, store and errors;
nothing below it imports it, and it never imports server, kernel or cli. Inside it, no use case
imports ``core`` (the composition): an import-linter contract says so.
"""

from __future__ import annotations

from ..errors import (
    BadRequestError,
    ConflictError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RecordNotFoundError,
    StoreUnavailableError,
    TooManyRunsError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    WorkflowValidationError,
)
from ..store.records import Page
from .automation_history import AutomationHistory
from .automations import Automations
from .core import WorkscriptService, default_server_id
from .identity import Identities
from .pool import Job, RunPool
from .recovery import RunRecovery
from .runs import RETRY_AFTER_SECONDS, Runs
from .values import (
    ACTIVE_STATUSES,
    ALL_STATUSES,
    FINAL_STATUSES,
    Caller,
    RunLimits,
    ServicesFactory,
)
from .workflows import Workflows

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "FINAL_STATUSES",
    "RETRY_AFTER_SECONDS",
    "AutomationHistory",
    "Automations",
    "BadRequestError",
    "Caller",
    "ConflictError",
    "Identities",
    "Job",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RecordNotFoundError",
    "RunLimits",
    "RunPool",
    "RunRecovery",
    "Runs",
    "ServicesFactory",
    "StoreUnavailableError",
    "TooManyRunsError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "WorkflowValidationError",
    "Workflows",
    "WorkscriptService",
    "default_server_id",
]
