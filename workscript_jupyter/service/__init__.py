"""The service layer: the use cases behind the REST API, the WebSocket, the kernel and the CLI.

``WorkscriptService`` saves, validates and runs workflows for a ``Caller``; runs are queued in the
store and executed by an in-process worker pool within ``RunLimits``, and their events go to an
``engine.EventBus``. This package may import engine, nodes, store and errors; nothing below it
imports it, and it never imports server, kernel or cli.
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
from .core import WorkscriptService, default_server_id
from .identity import Identities
from .pool import Job, RunPool
from .runs import RETRY_AFTER_SECONDS
from .values import (
    ACTIVE_STATUSES,
    ALL_STATUSES,
    FINAL_STATUSES,
    Caller,
    RunLimits,
    ServicesFactory,
)

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "FINAL_STATUSES",
    "RETRY_AFTER_SECONDS",
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
    "ServicesFactory",
    "StoreUnavailableError",
    "TooManyRunsError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "WorkflowValidationError",
    "WorkscriptService",
    "default_server_id",
]
