"""How a Google node's operation talks to Google, inside the worker thread the run's gateway
runs it in (service/google_gateway.py): the scopes a connection may hold, ``execute`` (a
request with the library's own retry of quota errors and 5xx: 429, and 403
``rateLimitExceeded`` / ``userRateLimitExceeded``, with exponential backoff), ``retries`` (for
chunked transfers) and ``google_error`` (a failure as the ``GoogleError`` a node branches on,
with Google's reason).

The retry policy is the server's (``google_quota_retries``): the gateway makes it current for
the operation with ``policy_for_operation`` (a context variable, copied into the worker
thread); outside a gateway the default applies.
"""

from __future__ import annotations

import contextvars
import random
from dataclasses import dataclass
from typing import Any, Final

from ..errors import GoogleError

__all__ = [
    "GOOGLE_SCOPES",
    "IDENTITY_SCOPES",
    "RequestPolicy",
    "execute",
    "google_error",
    "policy_for_operation",
    "retries",
]

_G: Final = "https://www.googleapis.com/auth/"
# the scopes a connection may ask for, by short name (what a user ticks) -> Google's scope
GOOGLE_SCOPES: Final[dict[str, str]] = {
    "openid": "openid",
    "email": _G + "userinfo.email",
    "profile": _G + "userinfo.profile",
    "gmail.readonly": _G + "gmail.readonly",
    "gmail.send": _G + "gmail.send",
    "gmail.compose": _G + "gmail.compose",
    "gmail.modify": _G + "gmail.modify",
    "calendar.readonly": _G + "calendar.readonly",
    "calendar": _G + "calendar",
    "drive": _G + "drive",
    "drive.file": _G + "drive.file",
}
# asked for on every connection: who the account is (its id, email and name)
IDENTITY_SCOPES: Final = ("openid", _G + "userinfo.email", _G + "userinfo.profile")

# Google's reasons that mean "slow down", whatever the status
_QUOTA_REASONS: Final = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
_STATUS_CODES: Final = {400: "INVALID_REQUEST", 404: "NOT_FOUND", 410: "NOT_FOUND", 409: "CONFLICT"}


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    """``retries``: how many times a quota error or a 5xx is retried; the backoff before the
    n-th retry is up to ``backoff_seconds`` * 2^n, randomised."""

    retries: int = 4
    backoff_seconds: float = 1.0


_DEFAULT: Final = RequestPolicy()
_current: contextvars.ContextVar[RequestPolicy | None] = contextvars.ContextVar(
    "workscript_google_requests", default=None
)


def policy_for_operation(policy: RequestPolicy) -> None:
    """Make ``policy`` current in this context (the gateway, before it runs an operation)."""
    _current.set(policy)


def execute(request: Any) -> Any:
    """``request.execute()`` with the library's retry of quota errors and 5xx."""
    policy = _current.get() or _DEFAULT
    scale = policy.backoff_seconds
    # the library sleeps rand() * 2**n before the n-th retry; scaling rand scales the backoff
    request._rand = lambda: random.random() * scale
    return request.execute(num_retries=policy.retries)


def retries() -> int:
    """How many times the running operation retries (``MediaIoBaseDownload.next_chunk``)."""
    return (_current.get() or _DEFAULT).retries


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
