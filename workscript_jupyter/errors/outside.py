"""Errors of the outside services: the AI provider (OpenRouter) and Google."""

from __future__ import annotations

from typing import Any

from .base import (
    BadRequestError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnprocessableError,
    WorkscriptError,
)

__all__ = [
    "AIAuthError",
    "AIBudgetExceededError",
    "AIError",
    "AIInvalidRequestError",
    "AIMissingKeyError",
    "AIModelNotFoundError",
    "AIModelNotPricedError",
    "AIProviderError",
    "AIRateLimitedError",
    "AITimeoutError",
    "GoogleError",
    "GoogleNotConfiguredError",
]


class AIError(WorkscriptError):
    """A call to the AI provider (OpenRouter or an OpenAI-compatible gateway) failed. Catch this
    one class; ``code`` says why. Messages and details never carry the API key. Each subclass
    also derives from the error whose HTTP status it answers with (see ``http_status``)."""

    code = "AI_ERROR"
    http_status = 500


class AIMissingKeyError(AIError, ServiceUnavailableError):
    """No API key is configured (``OPENROUTER_API_KEY``); raised before any request (503)."""

    code = "MISSING_API_KEY"
    http_status = 503


class AIAuthError(AIError, ServiceUnavailableError):
    """The provider refused the server's key (its 401/403). Not a 401 of ours: the caller's own
    credential is fine, the server's configuration is not (503)."""

    code = "AUTH_FAILED"
    http_status = 503


class AIModelNotFoundError(AIError, BadRequestError):
    """The provider knows no model of that name (its 404, or a 400 saying so) (400)."""

    code = "MODEL_NOT_FOUND"
    http_status = 400


class AIInvalidRequestError(AIError, BadRequestError):
    """The provider refused the request (another 4xx); the message is the provider's (400)."""

    code = "INVALID_REQUEST"
    http_status = 400


class AIRateLimitedError(AIError, TooManyRequestsError):
    """The provider kept answering 429 after the retries; ``retry_after`` seconds (429)."""

    code = "RATE_LIMITED"
    http_status = 429


class AIBudgetExceededError(AIError, TooManyRequestsError):
    """The caller's AI spend this calendar month (UTC) reached the server's monthly budget
    (``ai_monthly_budget_usd``); refused before any request. ``retry_after``: seconds until
    the budget resets, on the first of next month (429, with ``Retry-After``)."""

    code = "BUDGET_EXCEEDED"
    http_status = 429


class AIModelNotPricedError(AIError, UnprocessableError):
    """A monthly budget is on and the model catalogue has no price for the model asked for, so
    its spend could not be counted; refused before any request (422)."""

    code = "MODEL_NOT_PRICED"
    http_status = 422


class AITimeoutError(AIError, ServiceUnavailableError, TimeoutError):
    """The provider did not answer within ``AI_REQUEST_TIMEOUT`` (503)."""

    code = "TIMEOUT"
    http_status = 503


class AIProviderError(AIError, ServiceUnavailableError):
    """The provider failed: 5xx after the retries, unreachable, an unreadable or too large
    answer (503)."""

    code = "PROVIDER_ERROR"
    http_status = 503


class GoogleError(WorkscriptError):
    """A Google connection or API call failed (issue 18). ``code`` says why, for a workflow to
    branch on: NO_CONNECTION, CONNECTION_NOT_FOUND, AMBIGUOUS_CONNECTION, NEEDS_CONSENT,
    MISSING_SCOPE, NOT_FOUND, PERMISSION_DENIED, QUOTA_EXCEEDED, INVALID_REQUEST,
    GOOGLE_UNAVAILABLE, GOOGLE_ERROR. ``reason`` is Google's own (``rateLimitExceeded``,
    ``notFound``...) when Google gave one, ``status`` its HTTP status. Never carries a token."""

    code = "GOOGLE_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        reason: str | None = None,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message, details=details)
        if code is not None:
            self.code = code
        self.reason = reason
        self.status = status

    def edge_data(self) -> dict[str, Any]:
        """What a Google node's error edge carries."""
        return {
            "error": self.message,
            "code": self.code,
            "reason": self.reason,
            "status": self.status,
        }


class GoogleNotConfiguredError(ServiceUnavailableError):
    """The server has no Google OAuth client (``GOOGLE_CLIENT_ID`` / ``GOOGLE_CLIENT_SECRET``),
    or no ``secret_key`` to encrypt the tokens with (503)."""

    code = "GOOGLE_NOT_CONFIGURED"
