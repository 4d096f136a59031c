"""A stand-in for Google's REST APIs (Gmail v1, Calendar v3, Drive v3) on 127.0.0.1, speaking
enough JSON for the real google-api-python-client built from its static discovery documents.

One server holds all three, under the paths the discovery documents give
(``/gmail/v1/...``, ``/calendar/v3/...``, ``/drive/v3/...``, uploads under ``/upload/...``), so
a client is pointed at it by setting the document's ``rootUrl`` to ``root + "/"``
(``build_service``). ``client_options={"api_endpoint": ...}`` is NOT enough: the client then
rewrites only the host of media-upload URLs and keeps their ``https`` scheme.

Bearer tokens are checked by ``scopes_of`` (the OAuth stand-in's), or any token in
``tokens`` when none is given. Errors are Google's JSON error shape (``error.errors[].reason``:
``authError``, ``notFound``, ``insufficientPermissions``, ``rateLimitExceeded`` ...).
``fail_next(status, reason)`` scripts the next API request's failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import tornado.web

from .google_server import ThreadedApp, new_id

__all__ = ["GoogleApisStandIn", "build_service", "google_error"]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    410: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}

ScopesOf = Callable[[str], "tuple[str, ...] | None"]


def google_error(
    status: int, reason: str, message: str, location: str | None = None
) -> dict[str, Any]:
    """Google's JSON error body (what googleapiclient's ``HttpError`` reads ``reason`` from)."""
    detail: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    if location:
        detail.update(location=location, locationType="parameter")
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [detail],
            "status": STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


class GoogleApisStandIn(ThreadedApp):
    """The API server and its data: ``messages`` (Gmail, by id), ``events`` (calendar id → id →
    event), ``files`` (Drive, by id, with ``content`` bytes), ``permissions`` (file id → list),
    ``uploads`` (resumable sessions); ``requests`` (method, path) of every API request."""

    thread_name = "google-apis-stand-in"

    def __init__(
        self, *, scopes_of: ScopesOf | None = None, email: str = "ada@example.com"
    ) -> None:
        super().__init__()
        self.email = email
        self.tokens: dict[str, tuple[str, ...]] = {}
        self._scopes_of = scopes_of or self.tokens.get
        self.requests: list[tuple[str, str]] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[int, str, str]] = []

    def routes(self) -> list[Any]:
        from .google_calendar import calendar_routes
        from .google_drive import drive_routes
        from .google_gmail import gmail_routes

        given = {"stand_in": self}
        return [
            (path, handler, given)
            for path, handler in gmail_routes + calendar_routes + drive_routes
        ]

    def fail_next(self, status: int, reason: str, message: str = "scripted failure") -> None:
        """The next API request fails: ``status`` and ``reason`` (429, "rateLimitExceeded")."""
        with self.lock:
            self._failures.append((status, reason, message))

    def take_failure(self) -> tuple[int, str, str] | None:
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    def scopes_of(self, token: str) -> tuple[str, ...] | None:
        return self._scopes_of(token)

    def new_id(self) -> str:
        return new_id().replace("-", "").replace("_", "")[:16].lower()


def build_service(stand_in: GoogleApisStandIn, name: str, version: str, credentials: Any) -> Any:
    """The real googleapiclient service from its static discovery document, aimed at the
    stand-in by rewriting the document's ``rootUrl`` (requests and media uploads alike)."""
    from googleapiclient.discovery import build_from_document
    from googleapiclient.discovery_cache import get_static_doc

    document = json.loads(get_static_doc(name, version) or "{}")
    if not document:
        raise LookupError(f"googleapiclient has no static discovery document for {name} {version}")
    document["rootUrl"] = stand_in.root + "/"
    return build_from_document(document, credentials=credentials)


class ApiHandler(tornado.web.RequestHandler):
    """Base of the API handlers: bearer token and scope check, scripted failures, JSON in and
    Google-shaped errors out. ``scope_prefixes``: a token needs one scope starting so."""

    scope_prefixes: tuple[str, ...] = ()

    def initialize(self, stand_in: GoogleApisStandIn) -> None:
        self.stand_in = stand_in

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        self.stand_in.requests.append((self.request.method or "", self.request.path))
        header = self.request.headers.get("Authorization", "")
        scopes = (
            self.stand_in.scopes_of(header.removeprefix("Bearer "))
            if header.startswith("Bearer ")
            else None
        )
        if scopes is None:
            self.set_header("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')
            message = "Request had invalid authentication credentials."
            self.fail(401, "authError", message, "Authorization")
            return
        if not any(s.startswith(self.scope_prefixes) for s in scopes):
            self.fail(
                403, "insufficientPermissions", "Request had insufficient authentication scopes."
            )
            return
        failure = self.stand_in.take_failure()
        if failure is not None:
            self.fail(*failure)

    def fail(self, status: int, reason: str, message: str, location: str | None = None) -> None:
        self.set_status(status)
        self.finish(google_error(status, reason, message, location))

    def json_body(self) -> dict[str, Any] | None:
        """The JSON object sent, or None after answering 400 parseError."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.fail(400, "parseError", "Invalid JSON payload received.")
            return None
        return body

    def page(
        self, items: list[Any], size_argument: str, default: int
    ) -> tuple[list[Any], str | None]:
        """One page of ``items`` by ``pageToken`` (an offset here) and the size argument."""
        size = max(1, int(self.get_argument(size_argument, str(default))))
        start = int(self.get_argument("pageToken", "0") or 0)
        chunk = items[start : start + size]
        return chunk, (str(start + size) if start + size < len(items) else None)
