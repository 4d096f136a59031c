"""The exception tree's core: the base class and every error of the engine, the store, the
requests and the notebooks (the package's docstring draws the whole tree)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AccountLockedError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DatabaseGatewayError",
    "DatabaseQueryError",
    "DatabaseUnavailableError",
    "DocumentError",
    "DocumentLimitError",
    "FireAlreadyClaimedError",
    "InvalidCronError",
    "KernelNotFoundError",
    "LoopLimitError",
    "MailUnavailableError",
    "MissingDriverError",
    "NodeExecutionError",
    "NodeNotFoundError",
    "NodeParameterError",
    "NodeTimeoutError",
    "NotebookError",
    "NotebookFormatError",
    "NotebookNotFoundError",
    "NotebookParameterError",
    "NotebookPathError",
    "OwnerServerError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PythonCodeError",
    "RecordNotFoundError",
    "SecretUnreadableError",
    "ServiceUnavailableError",
    "StateReferenceError",
    "StateTooLargeError",
    "StoreError",
    "StoreUnavailableError",
    "TooManyRequestsError",
    "TooManyRunsError",
    "UnknownColumnError",
    "UnknownTableError",
    "UnknownWebhookError",
    "UnprocessableError",
    "UnsupportedMediaTypeError",
    "ValidationIssue",
    "ValueTooDeepError",
    "WorkflowValidationError",
    "WorkscriptError",
]


class WorkscriptError(Exception):
    """Base of every error raised on purpose by workscript-jupyter."""

    code = "WORKSCRIPT_ERROR"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: Any = details


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem in a workflow document, located by a JSON pointer."""

    path: str
    message: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message} [{self.code}]"


class WorkflowValidationError(WorkscriptError, ValueError):
    """The workflow cannot run; ``issues`` lists every problem with its JSON pointer."""

    code = "WORKFLOW_VALIDATION_ERROR"

    def __init__(self, issues: Iterable[ValidationIssue]) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        count = len(self.issues)
        head = "; ".join(str(i) for i in self.issues[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"invalid workflow: {head}{more}")
        self.details = self.to_list()

    def to_list(self) -> list[dict[str, str]]:
        return [issue.to_dict() for issue in self.issues]


class NodeNotFoundError(WorkscriptError, LookupError):
    code = "NODE_TYPE_NOT_FOUND"

    def __init__(self, node_type: str) -> None:
        super().__init__(f"no node of type {node_type!r} is registered")
        self.node_type = node_type


class NodeExecutionError(WorkscriptError):
    """A node failed. Nodes raise it (or any exception) to take their ``error`` edge."""

    code = "NODE_EXECUTION_ERROR"

    def __init__(
        self, message: str, *, node_path: str = "", node_type: str = "", details: Any = None
    ) -> None:
        super().__init__(message)
        self.node_path = node_path
        self.node_type = node_type
        self.details = details


class NodeTimeoutError(NodeExecutionError, TimeoutError):
    code = "NODE_TIMEOUT"


class NodeParameterError(NodeExecutionError, TypeError):
    """A node got a parameter of a type it cannot use: ``parameter``, ``expected``, ``received``."""

    code = "INVALID_NODE_PARAMETER"

    def __init__(
        self,
        message: str,
        *,
        node_path: str = "",
        node_type: str = "",
        parameter: str = "",
        expected: str = "",
        received: str = "",
    ) -> None:
        details = {"parameter": parameter, "expected": expected, "received": received}
        super().__init__(message, node_path=node_path, node_type=node_type, details=details)
        self.parameter = parameter
        self.expected = expected
        self.received = received


class StateTooLargeError(WorkscriptError):
    """A run's state (or a value about to enter it) is over ``max_state_mb``; ``key`` is the
    top-level key being written, ``limit_bytes`` the limit."""

    code = "STATE_TOO_LARGE"

    def __init__(self, message: str, *, key: str = "", limit_bytes: int = 0) -> None:
        super().__init__(message, details={"key": key, "limitBytes": limit_bytes})
        self.key = key
        self.limit_bytes = limit_bytes


class LoopLimitError(WorkscriptError):
    code = "LOOP_LIMIT_EXCEEDED"

    def __init__(self, node_path: str, limit: int) -> None:
        super().__init__(
            f"loop at {node_path} ran more than {limit} times (maxLoopIterations). A loop re-runs "
            "while it takes an edge with a target: make its last edge (complete?, done?) null "
            "or leave it out, and put what follows in the next step"
        )
        self.node_path = node_path
        self.limit = limit


class StateReferenceError(WorkscriptError, ValueError):
    code = "STATE_REFERENCE_ERROR"


class ConfigurationError(WorkscriptError, ValueError):
    code = "CONFIGURATION_ERROR"


class BadRequestError(WorkscriptError, ValueError):
    """A request the service cannot read: bad JSON, a field of the wrong type (HTTP 400)."""

    code = "BAD_REQUEST"


class DocumentError(BadRequestError):
    """JSON or YAML text that cannot be read: a syntax error, or (``DocumentLimitError``) what
    a limit refuses. ``details`` is ``{line, column, position}`` where known."""


class DocumentLimitError(DocumentError):
    """Text that parses but that a limit refuses: nesting over the depth limit, ``NaN`` or an
    infinity, a number too long, YAML aliases that expand too far or refer to themselves."""


class InvalidCronError(BadRequestError):
    """A cron expression or time zone that cannot be scheduled; ``details`` names the field."""

    code = "INVALID_CRON"


class AuthenticationError(WorkscriptError):
    """The request carries no valid credential: a malformed, expired, revoked or unknown token or
    API key, or a wrong login (HTTP 401). The message never repeats the credential."""

    code = "UNAUTHORIZED"


class PermissionDeniedError(WorkscriptError, PermissionError):
    """The caller is known but may not do this (HTTP 403)."""

    code = "FORBIDDEN"


class AccountLockedError(PermissionDeniedError):
    """Too many failed logins: the account is locked for ``retry_after`` seconds (HTTP 429)."""

    code = "ACCOUNT_LOCKED"

    def __init__(self, message: str, *, retry_after: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class PayloadTooLargeError(WorkscriptError):
    """A request body over the configured limit (HTTP 413)."""

    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(WorkscriptError):
    """A request body that is not ``application/json`` (HTTP 415)."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class UnprocessableError(WorkscriptError, ValueError):
    """Well-formed but not doable: cancel a finished run, delete a running one (HTTP 422)."""

    code = "UNPROCESSABLE"


class ValueTooDeepError(UnprocessableError):
    """A value (a run's state, an answer) nested too deeply, or containing itself, to be
    written as JSON."""

    code = "VALUE_TOO_DEEP"


class SecretUnreadableError(UnprocessableError):
    """A secret stored encrypted (an OAuth token) that none of the configured keys opens: it
    was tampered with, or the key that made it left ``secret_key``. The message never holds
    the token or a key (HTTP 422)."""

    code = "SECRET_UNREADABLE"


class TooManyRequestsError(WorkscriptError):
    """A rate limit refused the request; try again in ``retry_after`` seconds (HTTP 429)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class TooManyRunsError(TooManyRequestsError):
    """The caller has too many runs queued or running; try again in ``retry_after`` s (429)."""

    code = "TOO_MANY_RUNS"


class ServiceUnavailableError(WorkscriptError):
    """Something the request needs is not configured or not answering (HTTP 503)."""

    code = "SERVICE_UNAVAILABLE"


class MailUnavailableError(ServiceUnavailableError):
    """No email backend is configured, or the SMTP server could not take the message."""

    code = "MAIL_UNAVAILABLE"


class StoreError(WorkscriptError):
    code = "STORE_ERROR"


class RecordNotFoundError(StoreError, LookupError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, record_id: str) -> None:
        super().__init__(f"no {kind} with id {record_id!r}")
        self.kind = kind
        self.record_id = record_id


class UnknownWebhookError(RecordNotFoundError):
    """A webhook token that opens nothing: unknown, rotated, disabled, or not a webhook's.
    One message for all, so a caller learns nothing about which."""

    def __init__(self) -> None:
        StoreError.__init__(self, "no webhook at this address")
        self.kind = "webhook"
        self.record_id = ""


class ConflictError(StoreError):
    code = "CONFLICT"


class FireAlreadyClaimedError(ConflictError):
    code = "FIRE_ALREADY_CLAIMED"


class StoreUnavailableError(StoreError, ConnectionError):
    code = "STORE_UNAVAILABLE"


class DatabaseGatewayError(WorkscriptError):
    """A database call failed; the message is safe to show (no password, no values)."""

    code = "DATABASE_ERROR"


class MissingDriverError(DatabaseGatewayError, ImportError):
    code = "DATABASE_DRIVER_MISSING"


class DatabaseUnavailableError(DatabaseGatewayError, ConnectionError):
    """The server cannot be reached, or refuses the login."""

    code = "DATABASE_UNAVAILABLE"


class UnknownTableError(DatabaseGatewayError, LookupError):
    code = "DATABASE_UNKNOWN_TABLE"


class UnknownColumnError(DatabaseGatewayError, LookupError):
    code = "DATABASE_UNKNOWN_COLUMN"


class DatabaseQueryError(DatabaseGatewayError, ValueError):
    """The database refused a statement (syntax, constraint, type...), or bad arguments."""

    code = "DATABASE_QUERY_ERROR"


class NotebookError(WorkscriptError):
    """A headless notebook run cannot start. Failures *during* a run are not raised: they come
    back in ``NotebookRun.error`` (a cell error, a timeout, a dead kernel)."""

    code = "NOTEBOOK_ERROR"


class OwnerServerError(NotebookError):
    """On a hub: the server a step runs in (its owner's) could not be started, reached or used.
    Unlike a notebook's own failure it fails the run (an ``error?`` edge can still catch it), so
    an automation's retry policy applies."""

    code = "OWNER_SERVER_UNAVAILABLE"


class NotebookPathError(NotebookError, ValueError):
    """A notebook or output path that does not resolve inside the run root."""

    code = "NOTEBOOK_PATH_ERROR"


class NotebookNotFoundError(NotebookError, FileNotFoundError):
    code = "NOTEBOOK_NOT_FOUND"


class NotebookFormatError(NotebookError, ValueError):
    """The file is not a notebook nbformat can read."""

    code = "NOTEBOOK_FORMAT_ERROR"


class NotebookParameterError(NotebookError, ValueError):
    """A parameter whose name is not an identifier, or whose value is not JSON-like."""

    code = "NOTEBOOK_PARAMETER_ERROR"


class KernelNotFoundError(NotebookError, LookupError):
    """No kernelspec of the requested name is installed."""

    code = "KERNEL_NOT_FOUND"


class PythonCodeError(NotebookError):
    """Code run in a workflow run's kernel failed; ``traceback`` is the kernel's text."""

    code = "PYTHON_CODE_ERROR"

    def __init__(
        self,
        message: str,
        *,
        ename: str | None = None,
        evalue: str | None = None,
        traceback: str | None = None,
    ) -> None:
        super().__init__(
            message, details={"ename": ename, "evalue": evalue, "traceback": traceback}
        )
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
