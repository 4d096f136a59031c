"""Signals of the OpenRouter client's retry loop and size cap: ``_Retryable``, ``_TooLarge``
and ``_retry_after`` (the provider's ``Retry-After``). See ``openrouter`` for the client."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime

import httpx

from ..errors import AIError
from .openrouter_types import MAX_RETRY_AFTER


class _TooLarge(Exception):
    pass


class _Retryable(Exception):
    """An attempt failed in a way worth another try; ``error`` is what to raise if none is left."""

    def __init__(self, error: AIError, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), capped at ``MAX_RETRY_AFTER``;
    None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)
