"""``WorkscriptHandler``: what every REST handler of the extension shares.

- ``self.service`` — the one ``WorkscriptService`` built by ``WorkscriptApp``;
- ``await self.caller()`` — the Jupyter (or JupyterHub) identity mapped to a workscript user;
- ``self.json_body()`` — the request body as JSON: 415 unless ``application/json``, 413 over
  ``WorkscriptApp.max_request_body_mb``, 400 with the parse position when it is not JSON;
- ``self.write_json(obj, status)``;
- the one error mapping: a ``WorkscriptError`` raised anywhere in a verb becomes
  ``{"error": {"code", "message", "details"}}`` with its HTTP status (429 with ``Retry-After``).
  Anything else is a bug and stays tornado's 500. Handlers never catch ``Exception``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..errors import (
    BadRequestError,
    ConflictError,
    DatabaseUnavailableError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RecordNotFoundError,
    StoreUnavailableError,
    TooManyRunsError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    WorkflowValidationError,
    WorkscriptError,
)

if TYPE_CHECKING:
    from ..service import Caller, WorkscriptService

__all__ = ["WorkscriptHandler", "error_payload", "status_for"]

# most specific first: WorkflowValidationError and BadRequestError are both ValueErrors
_STATUS: tuple[tuple[type[WorkscriptError], int], ...] = (
    (WorkflowValidationError, 400),
    (BadRequestError, 400),
    (PermissionDeniedError, 403),
    (RecordNotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (UnprocessableError, 422),
    (TooManyRunsError, 429),
    (StoreUnavailableError, 503),
    (DatabaseUnavailableError, 503),
)

_JSON_TYPES = ("application/json",)


def status_for(error: WorkscriptError) -> int:
    """The HTTP status of ``error``: 500 for a WorkscriptError nobody mapped (a bug)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_payload(error: WorkscriptError) -> dict[str, Any]:
    details = error.to_list() if isinstance(error, WorkflowValidationError) else error.details
    return {"error": {"code": error.code, "message": error.message, "details": details}}


def bad_request(message: str, details: Any = None) -> BadRequestError:
    return BadRequestError(message, details=details)


class WorkscriptHandler(APIHandler):
    """Base of the REST handlers. Subclasses set ``auth_resource`` and decorate every verb."""

    auth_resource = "workscript:api"

    # -- wiring ----------------------------------------------------------------------------

    @property
    def workscript(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.settings["workscript"]
        return settings

    @property
    def service(self) -> WorkscriptService:
        return self.workscript["service"]  # type: ignore[no-any-return]

    @property
    def max_body_bytes(self) -> int:
        megabytes = float(self.workscript.get("max_request_body_mb", 10))
        return int(megabytes * 1024 * 1024)

    @property
    def run_wait_max_seconds(self) -> float:
        return float(self.workscript.get("run_wait_max_seconds", 300))

    async def caller(self) -> Caller:
        """The workscript caller of this request (cached for the request)."""
        cached: Caller | None = getattr(self, "_workscript_caller", None)
        if cached is not None:
            return cached
        user = self.current_user
        username = str(getattr(user, "username", "") or "")
        display_name = getattr(user, "display_name", None) or getattr(user, "name", None) or None
        groups: Sequence[str] = ()
        hub_user = getattr(user, "hub_user", None)  # set by jupyterhub-singleuser
        if isinstance(hub_user, dict):
            username = str(hub_user.get("name") or username)
            groups = tuple(str(g) for g in hub_user.get("groups") or ())
        caller = await self.service.caller_for(
            username, display_name=display_name, hub_groups=groups
        )
        self._workscript_caller = caller
        return caller

    def location(self, *parts: str) -> str:
        """The absolute path of a workscript resource, for ``Location`` headers."""
        return url_path_join(self.base_url, "workscript", *parts)

    # -- request bodies --------------------------------------------------------------------

    def json_body(self, *, required: bool = True) -> Any:
        """The JSON body; None when it is empty and not ``required``."""
        body = self.request.body or b""
        if len(body) > self.max_body_bytes:
            raise PayloadTooLargeError(
                f"the request body is {len(body)} bytes; the limit is {self.max_body_bytes}"
            )
        if not body.strip():
            if required:
                raise bad_request("a JSON body is required")
            return None
        content_type = self.request.headers.get("Content-Type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in _JSON_TYPES and not media_type.endswith("+json"):
            raise UnsupportedMediaTypeError(
                f"send the body as application/json, not {media_type or 'no content type'}"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise bad_request(
                f"the body is not UTF-8 (byte {error.start})", {"position": error.start}
            ) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise bad_request(
                f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno} "
                f"(char {error.pos})",
                {"line": error.lineno, "column": error.colno, "position": error.pos},
            ) from None

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        """The body as a JSON object ({} when empty and not ``required``)."""
        body = self.json_body(required=required)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise bad_request(f"the body must be a JSON object, not {_json_kind(body)}")
        return body

    # -- query arguments -------------------------------------------------------------------

    def query_int(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(f"{name} must be an integer, not {raw!r}") from None
        if not low <= value <= high:
            raise bad_request(f"{name} must be between {low} and {high}, not {value}")
        return value

    def query_seconds(self, name: str, *, high: float) -> float:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return 0.0
        try:
            value = float(raw)
        except ValueError:
            raise bad_request(f"{name} must be a number of seconds, not {raw!r}") from None
        if not math.isfinite(value) or not 0 <= value <= high:
            raise bad_request(f"{name} must be between 0 and {high:g} seconds, not {raw}")
        return value

    def query_time(self, name: str) -> datetime | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return None
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise bad_request(f"{name} must be an ISO 8601 time, not {raw!r}") from None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def query_str(self, name: str) -> str | None:
        raw = self.get_query_argument(name, None)
        return raw if raw else None

    # -- responses -------------------------------------------------------------------------

    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        if status == 204:
            self.finish()
            return
        self.finish(json.dumps(obj, ensure_ascii=False, default=str))

    def _handle_request_exception(self, e: BaseException) -> None:
        """The one error mapping: WorkscriptError → its JSON error and status."""
        if not isinstance(e, WorkscriptError):
            super()._handle_request_exception(e)
            return
        status = status_for(e)
        if status >= 500:
            self.log.error(
                "workscript: %s %s failed", self.request.method, self.request.uri, exc_info=e
            )
        else:
            self.log.debug(
                "workscript: %s %s → %d %s", self.request.method, self.request.uri, status, e.code
            )
        if self._finished:
            return
        if self._headers_written:
            self.finish()
            return
        self.clear()
        self.set_status(status)
        if isinstance(e, TooManyRunsError):
            self.set_header("Retry-After", str(max(1, int(e.retry_after))))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(error_payload(e), ensure_ascii=False, default=str))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__
