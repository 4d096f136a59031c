"""google-api-python-client, built offline and called from worker threads.

- ``build_service(api, version, access_token, settings)``: the client's resource from the
  static discovery document shipped with the library (no request at build time), authorized
  with the access token only: refreshing is the connection service's job (it is serialized
  across runs and servers), so the HTTP layer never refreshes on its own
  (``max_refresh_attempts=0``) and a 401 comes back to us.
- ``execute(request)``: run a request with the library's own retry of quota errors and 5xx
  (429, and 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``) with exponential backoff.
- ``google_error(exc)``: any failure as a ``GoogleError`` with the code a node branches on and
  Google's reason.
- ``in_google_thread(fn, ...)``: the calls block (httplib2), so they run in a pool of their
  own, never on the event loop and never starving the default executor.

``GoogleApiSettings.root_url`` replaces the documents' ``https://<api>.googleapis.com/``
(requests and media uploads alike): a proxy's address, or a stand-in's in the tests.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from ..errors import ConfigurationError, GoogleError

__all__ = [
    "GoogleApiSettings",
    "build_service",
    "execute",
    "google_error",
    "in_google_thread",
]

_T = TypeVar("_T")
THREADS: Final = 16
# Google's reasons that mean "slow down", whatever the status
_QUOTA_REASONS: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
_STATUS_CODES: Final = {400: "INVALID_REQUEST", 404: "NOT_FOUND", 410: "NOT_FOUND", 409: "CONFLICT"}


@dataclass(frozen=True, slots=True)
class GoogleApiSettings:
    """``quota_retries``: how many times a quota error or a 5xx is retried (backoff: up to
    ``backoff_seconds`` * 2^n, randomised, before the n-th retry); ``timeout``: seconds per
    HTTP request."""

    root_url: str | None = None
    timeout: float = 60.0
    quota_retries: int = 4
    backoff_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.root_url is not None and not self.root_url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"the Google API root must be an http(s) URL, not {self.root_url!r}"
            )
        if not 0 <= self.quota_retries <= 10:
            raise ConfigurationError("google quota_retries must be from 0 to 10")


# the settings of the operation running in this thread (set by ``in_google_thread``'s caller)
_DEFAULT: Final = GoogleApiSettings()
_current: contextvars.ContextVar[GoogleApiSettings | None] = contextvars.ContextVar(
    "workscript_google_api", default=None
)


@functools.lru_cache(maxsize=32)
def _document(api: str, version: str, root_url: str | None) -> str:
    from googleapiclient.discovery_cache import get_static_doc

    text = get_static_doc(api, version)
    if not text:
        raise GoogleError(
            f"google-api-python-client has no discovery document for {api} {version}",
            code="GOOGLE_ERROR",
        )
    if root_url is None:
        return str(text)
    document = json.loads(text)
    document["rootUrl"] = root_url.rstrip("/") + "/"
    return json.dumps(document)


def build_service(api: str, version: str, access_token: str, settings: GoogleApiSettings) -> Any:
    """Blocking (parses the document): the client's resource for ``api`` ``version``."""
    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build_from_document

    transport = httplib2.Http(timeout=settings.timeout)
    # a resumable upload's chunks are answered 308 "Resume Incomplete", not a redirect
    # (what googleapiclient.http.build_http does to the Http it makes)
    transport.redirect_codes = transport.redirect_codes - {308}
    http = google_auth_httplib2.AuthorizedHttp(
        Credentials(token=access_token),  # type: ignore[no-untyped-call]
        http=transport,
        max_refresh_attempts=0,
    )
    return build_from_document(_document(api, version, settings.root_url), http=http)


def execute(request: Any) -> Any:
    """``request.execute()`` with the library's retry of quota errors and 5xx."""
    settings = _current.get() or _DEFAULT
    scale = settings.backoff_seconds
    # the library sleeps rand() * 2**n before the n-th retry; scaling rand scales the backoff
    request._rand = lambda: random.random() * scale
    return request.execute(num_retries=settings.quota_retries)


def retries() -> int:
    """How many times the running operation retries (for resumable uploads' ``next_chunk``)."""
    return (_current.get() or _DEFAULT).quota_retries


async def in_google_thread(settings: GoogleApiSettings, fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` in the Google pool, with ``settings`` current for ``execute``."""
    context = contextvars.copy_context()
    context.run(_current.set, settings)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(context.run, fn, *args))


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="workscript-google")


def google_error(exc: BaseException) -> GoogleError | None:
    """``exc`` (an ``HttpError``, a transport error, a ``GoogleError``) as a ``GoogleError``;
    None for anything else (a bug, which must not pass for Google's answer)."""
    if isinstance(exc, GoogleError):
        return exc
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        return _http_error(exc)
    if isinstance(exc, OSError | TimeoutError) or type(exc).__module__.startswith("httplib2"):
        return GoogleError(
            f"could not reach Google ({type(exc).__name__})", code="GOOGLE_UNAVAILABLE"
        )
    return None


def _http_error(exc: Any) -> GoogleError:
    status = int(getattr(exc, "status_code", 0) or getattr(exc.resp, "status", 0) or 0)
    reasons = [
        str(detail.get("reason"))
        for detail in (exc.error_details if isinstance(exc.error_details, list) else [])
        if isinstance(detail, dict) and detail.get("reason")
    ]
    reason = reasons[0] if reasons else None
    message = str(exc.reason or "").strip() or f"HTTP {status}"
    if status == 429 or _QUOTA_REASONS.intersection(reasons):
        code = "QUOTA_EXCEEDED"
    elif status == 401:
        code = "UNAUTHENTICATED"
    elif status == 403:
        code = "PERMISSION_DENIED"
    elif status >= 500:
        code = "GOOGLE_UNAVAILABLE"
    else:
        code = _STATUS_CODES.get(status, "GOOGLE_ERROR")
    return GoogleError(
        f"Google answered {status}{f' {reason}' if reason else ''}: {message[:500]}",
        code=code,
        reason=reason,
        status=status,
    )
