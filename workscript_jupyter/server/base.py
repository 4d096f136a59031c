"""``WorkscriptHandler``: what every REST handler of the extension shares.

- ``self.workflows``, ``self.runs``, ``self.automations``, ``self.automation_history``,
  ``self.identities`` — the service's use cases (composition.py puts them in the settings);
  each handler uses the one it needs;
- ``await self.caller()`` — the Jupyter (or JupyterHub) identity mapped to a workscript user;
- ``self.json_body()`` — the request body as JSON: 415 unless ``application/json``, 400 with
  the position when it is not JSON, nested more than 128 levels or holds ``NaN``/``Infinity``
  (``engine/documents.py``);
- bodies are streamed (``stream_request_body``): a ``Content-Length`` over the limit
  (``body_limit_bytes``: ``WorkscriptApp.max_request_body_mb``, the webhook's own limit) is a
  413 before any of the body is read, and a chunked body is a 413 as soon as it crosses the
  limit, so no request makes the server hold more than the limit;
- ``self.write_json(obj, status)``: always valid JSON (a NaN in a state is written ``null``);
- the one error mapping: a ``WorkscriptError`` raised anywhere in a verb becomes
  ``{"error": {"code", "message", "details"}}`` with its HTTP status (429 with ``Retry-After``).
  Anything else is a bug and stays tornado's 500. Handlers never catch ``Exception``.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..engine.documents import dump_json, load_json
from ..errors import (
    AccountLockedError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DatabaseUnavailableError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RecordNotFoundError,
    ServiceUnavailableError,
    StoreUnavailableError,
    TooManyRequestsError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    WorkflowValidationError,
    WorkscriptError,
)
from .credentials import principal_of

if TYPE_CHECKING:
    from ..service import (
        AutomationHistory,
        Automations,
        Caller,
        Identities,
        Runs,
        Workflows,
    )

__all__ = ["PUBLIC", "WorkscriptHandler", "error_payload", "public_error_payload", "status_for"]

PUBLIC: Final = "public"  # a verb open to anyone that checks its own secret (webhook, login)


class _PermissionsDecide:
    """The authorizer of workscript credentials: Jupyter's ``@authorized`` lets them through,
    and ``WorkscriptHandler.prepare`` checks the workscript permission of the verb."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return True


_PERMISSIONS_DECIDE: Final = _PermissionsDecide()

# most specific first: WorkflowValidationError and BadRequestError are both ValueErrors
_STATUS: tuple[tuple[type[WorkscriptError], int], ...] = (
    (WorkflowValidationError, 400),
    (BadRequestError, 400),
    (AuthenticationError, 401),
    (AccountLockedError, 429),
    (PermissionDeniedError, 403),
    (RecordNotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (UnprocessableError, 422),
    (TooManyRequestsError, 429),
    (ServiceUnavailableError, 503),
    (StoreUnavailableError, 503),
    (DatabaseUnavailableError, 503),
)

_JSON_TYPES = ("application/json",)
_HOOK_TOKEN = re.compile(r"(/workscript/hooks/)[^/?#]+")


def status_for(error: WorkscriptError) -> int:
    """The HTTP status of ``error``: 500 for a WorkscriptError nobody mapped (a bug)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_payload(error: WorkscriptError) -> dict[str, Any]:
    details = error.to_list() if isinstance(error, WorkflowValidationError) else error.details
    return {"error": {"code": error.code, "message": error.message, "details": details}}


def public_error_payload(error: WorkscriptError, status: int) -> dict[str, Any]:
    """What a client is told: the error itself below 500; from 500 on only its code and a
    fixed sentence, since the message of a store or driver failure may name a host, a port,
    a path, a user or the driver's own words (the server's log has them, URL masked)."""
    if status < 500 or isinstance(error, ServiceUnavailableError):
        return error_payload(error)  # ServiceUnavailableError messages are written to be shown
    if isinstance(error, StoreUnavailableError | DatabaseUnavailableError):
        message = "the workscript store is unavailable; try again later"
    else:
        message = "the server could not complete the request; its log has the details"
    return {"error": {"code": error.code, "message": message, "details": None}}


def bad_request(message: str, details: Any = None) -> BadRequestError:
    return BadRequestError(message, details=details)


@web.stream_request_body
class WorkscriptHandler(APIHandler):
    """Base of the REST handlers. Subclasses set ``auth_resource`` and decorate every verb."""

    auth_resource = "workscript:api"
    # The workscript permission each verb needs (auth/permissions.py), checked in ``prepare``
    # for every caller however authenticated: None = any authenticated caller, PUBLIC = the
    # verb checks its own secret (webhooks, login). A verb missing here is refused.
    permissions: ClassVar[dict[str, str | None]] = {}
    _body: bytearray | None = None
    _body_refused = False

    # -- wiring ----------------------------------------------------------------------------

    @property
    def workscript(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.settings["workscript"]
        return settings

    @property
    def workflows(self) -> Workflows:
        return self.workscript["workflows"]  # type: ignore[no-any-return]

    @property
    def runs(self) -> Runs:
        return self.workscript["runs"]  # type: ignore[no-any-return]

    @property
    def automations(self) -> Automations:
        return self.workscript["automations"]  # type: ignore[no-any-return]

    @property
    def automation_history(self) -> AutomationHistory:
        return self.workscript["automation_history"]  # type: ignore[no-any-return]

    @property
    def identities(self) -> Identities:
        return self.workscript["identities"]  # type: ignore[no-any-return]

    @property
    def max_body_bytes(self) -> int:
        megabytes = float(self.workscript.get("max_request_body_mb", 10))
        return int(megabytes * 1024 * 1024)

    @property
    def body_limit_bytes(self) -> int:
        """The largest body this route reads (the webhook has a smaller one)."""
        return self.max_body_bytes

    @property
    def run_wait_max_seconds(self) -> float:
        return float(self.workscript.get("run_wait_max_seconds", 300))

    @property
    def identity_provider(self) -> Any:
        """Workscript credentials first, then Jupyter's identity (server/credentials.py)."""
        identity = self.settings.get("workscript", {}).get("identity")
        return identity if identity is not None else super().identity_provider

    @property
    def authorizer(self) -> Any:
        """Jupyter's authorizer for Jupyter identities; a workscript key, token or session is
        authorized by its permissions alone (``permissions``, checked in ``prepare``)."""
        if principal_of(self) is not None:
            return _PERMISSIONS_DECIDE
        return super().authorizer

    async def caller(self) -> Caller:
        """The workscript caller of this request (cached for the request)."""
        cached: Caller | None = getattr(self, "_workscript_caller", None)
        if cached is not None:
            return cached
        principal = principal_of(self)
        if principal is not None:
            self._workscript_caller = principal.caller
            return principal.caller
        user = self.current_user
        username = str(getattr(user, "username", "") or "")
        display_name = getattr(user, "display_name", None) or getattr(user, "name", None) or None
        groups: Sequence[str] = ()
        hub_user = getattr(user, "hub_user", None)  # set by jupyterhub-singleuser
        if isinstance(hub_user, dict):
            username = str(hub_user.get("name") or username)
            groups = tuple(str(g) for g in hub_user.get("groups") or ())
        caller = await self.identities.caller_for(
            username, display_name=display_name, hub_groups=groups
        )
        self._workscript_caller = caller
        return caller

    def location(self, *parts: str) -> str:
        """The absolute path of a workscript resource, for ``Location`` headers."""
        return url_path_join(self.base_url, "workscript", *parts)

    # -- request bodies --------------------------------------------------------------------

    async def prepare(self) -> None:  # type: ignore[override]
        """Jupyter's checks (identity, XSRF, origin), then the declared size of the body:
        over the limit is a 413 before the body is read."""
        await super().prepare()
        if self._finished:
            return
        principal = principal_of(self)
        if principal is not None and principal.rate is not None:
            self._set_rate_headers()
            principal.rate.raise_if_refused("this API key's rate limit")
        await self._check_permission()
        self._body = bytearray()
        declared = self.request.headers.get("Content-Length")
        if declared is None:
            return
        try:
            size = int(declared)
        except ValueError:
            raise bad_request(
                f"Content-Length must be a number of bytes, not {declared!r}"
            ) from None
        if size > self.body_limit_bytes:
            # read nothing more: the connection closes once the 413 is written (tornado's own
            # Content-Length check would answer a bare 400 first)
            self.request.connection.set_max_body_size(size)  # type: ignore[union-attr]
            self._body_refused = True
            raise self._too_large(size)

    async def _check_permission(self) -> None:
        method = (self.request.method or "").upper()
        if method in ("OPTIONS", "HEAD"):
            method = "GET" if method == "HEAD" else method
            if method == "OPTIONS":
                return
        if method not in self.permissions:
            raise PermissionDeniedError(f"{method} is not allowed here")
        permission = self.permissions[method]
        if permission == PUBLIC or self.current_user is None:
            return  # nobody signed in: the verb's @web.authenticated refuses it (403)
        caller = await self.caller()
        if permission is not None:
            caller.require(permission)

    def _set_rate_headers(self) -> None:
        principal = principal_of(self)
        if principal is not None and principal.rate is not None:
            for name, value in principal.rate.headers().items():
                self.set_header(name, str(value))

    def data_received(self, chunk: bytes) -> None:
        """Keep the body up to the limit; past it, answer 413 and drop the rest."""
        if self._body_refused or self._finished:
            return
        if self._body is None:  # prepare refused the request: nothing is kept
            return
        if len(self._body) + len(chunk) > self.body_limit_bytes:
            self._body_refused = True
            self._body = None
            self._handle_request_exception(self._too_large(None))
            return
        self._body += chunk

    def _too_large(self, size: int | None) -> PayloadTooLargeError:
        limit = self.body_limit_bytes
        what = f"is {size} bytes" if size is not None else "is longer than that"
        return PayloadTooLargeError(
            f"the request body {what}; the limit is {limit} bytes",
            details={"limit": limit},
        )

    def request_body(self) -> bytes:
        """The body as received (streamed into a buffer by ``data_received``)."""
        return bytes(self._body) if self._body is not None else b""

    def json_body(self, *, required: bool = True) -> Any:
        """The JSON body; None when it is empty and not ``required``."""
        body = self._json_text(required)
        return None if body is None else load_json(body, source="the body")

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        """The body as a JSON object ({} when empty and not ``required``)."""
        return _object_of(self.json_body(required=required))

    async def json_object_off_loop(self, *, required: bool = True) -> dict[str, Any]:
        """``json_object``, read in a thread when the body is large: the routes that take
        bodies of tens of MB (a resource's content in base64) would otherwise hold the event
        loop for seconds while the body is parsed and its depth checked."""
        body = self._json_text(required)
        if body is None:
            return {}
        if len(body) > OFF_LOOP_BODY_BYTES:
            return _object_of(await asyncio.to_thread(load_json, body, source="the body"))
        return _object_of(load_json(body, source="the body"))

    def _json_text(self, required: bool) -> bytes | None:
        """The body, checked to be JSON by its media type; None when empty (not required)."""
        body = self.request_body()
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
            value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            value.astimezone(UTC)  # 0001-01-01T00:00+05:00 has no UTC time: 400, not a 500
        except (ValueError, OverflowError):
            raise bad_request(f"{name} must be an ISO 8601 time, not {raw!r}") from None
        return value

    def query_str(self, name: str) -> str | None:
        raw = self.get_query_argument(name, None)
        return raw if raw else None

    # -- responses -------------------------------------------------------------------------

    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        if status == 204:
            self.finish()
            return
        self.finish(dump_json(obj, ensure_ascii=False, default=str))

    def logged_uri(self) -> str:
        """The request's URI as our logs show it: a webhook's secret token replaced by ***."""
        return _HOOK_TOKEN.sub(r"\1***", self.request.uri or "")

    def _handle_request_exception(self, e: BaseException) -> None:
        """The one error mapping: WorkscriptError → its JSON error and status."""
        if not isinstance(e, WorkscriptError):
            super()._handle_request_exception(e)
            return
        status = status_for(e)
        if isinstance(e, ServiceUnavailableError):
            # a known outage or a feature not configured (the database, AI without a key): said
            # once in a line, no traceback — it is not a bug of ours
            self.log.warning(
                "workscript: %s %s → %d %s: %s",
                self.request.method,
                self.logged_uri(),
                status,
                e.code,
                e.message,
            )
        elif status >= 500:
            self.log.error(
                "workscript: %s %s failed", self.request.method, self.logged_uri(), exc_info=e
            )
        else:
            self.log.debug(
                "workscript: %s %s → %d %s", self.request.method, self.logged_uri(), status, e.code
            )
        if self._finished:
            return
        if self._headers_written:
            self.finish()
            return
        self.clear()
        self._set_rate_headers()  # on errors too: a client reads its budget from every answer
        self.set_status(status)
        if isinstance(e, TooManyRequestsError | AccountLockedError):
            self.set_header("Retry-After", str(max(1, math.ceil(e.retry_after))))
        self.set_header("Content-Type", "application/json")
        self.finish(dump_json(public_error_payload(e, status), ensure_ascii=False, default=str))


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


OFF_LOOP_BODY_BYTES = 1024 * 1024  # a JSON body larger than this is read in a thread


def _object_of(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad_request(f"the body must be a JSON object, not {_json_kind(body)}")
    return body
