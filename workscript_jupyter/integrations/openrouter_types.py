"""The OpenRouter client's configuration (``AIConfig``) and results (``Usage``, ``Completion``),
See ``openrouter`` for the client."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 30.0
# the longest a streamed answer may take from its first byte to its end, whatever arrives
MAX_STREAM_SECONDS = 1800.0


# -- configuration ----------------------------------------------------------------------------


def _positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class AIConfig:
    """How to reach the provider. ``api_key`` is left out of repr/str; ``None`` or empty means
    not configured (every call then raises MISSING_API_KEY before any request).
    ``timeout``: seconds per attempt of a whole answer, and the longest a stream may go
    without an event carrying data (keep-alive comments do not count);
    ``max_stream_seconds``: the longest a streamed answer may take in all."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    site_url: str | None = None
    site_name: str | None = None
    max_retries: int = 3
    backoff_base: float = 0.5
    max_stream_seconds: float = MAX_STREAM_SECONDS

    def __post_init__(self) -> None:
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise ConfigurationError("the OpenRouter API key must be text")
        if not isinstance(self.base_url, str) or not re.match(r"^https?://[^/\s]+", self.base_url):
            raise ConfigurationError(
                f"the AI base URL must be an http(s) URL, got {self.base_url!r}"
            )
        object.__setattr__(self, "timeout", _positive_number("AI_REQUEST_TIMEOUT", self.timeout))
        object.__setattr__(
            self,
            "max_stream_seconds",
            _positive_number("max_stream_seconds", self.max_stream_seconds),
        )
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or not 0 <= self.max_retries <= 10
        ):
            raise ConfigurationError(
                f"max_retries must be a whole number from 0 to 10, got {self.max_retries!r}"
            )
        if isinstance(self.backoff_base, bool) or not isinstance(self.backoff_base, int | float):
            raise ConfigurationError(f"backoff_base must be a number, got {self.backoff_base!r}")
        if not 0 <= self.backoff_base <= MAX_BACKOFF:
            raise ConfigurationError(
                f"backoff_base must be from 0 to {MAX_BACKOFF} seconds, got {self.backoff_base!r}"
            )
        for name in ("site_url", "site_name"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or "\n" in value or "\r" in value):
                raise ConfigurationError(f"{name} must be one line of text, got {value!r}")

    @property
    def has_key(self) -> bool:
        return bool(self.api_key and self.api_key.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AIConfig:
        """From OPENROUTER_API_KEY, OPENROUTER_BASE_URL, AI_REQUEST_TIMEOUT (seconds),
        OPENROUTER_SITE_URL and OPENROUTER_SITE_NAME; unset or empty means the default."""

        def text(name: str) -> str | None:
            value = environ.get(name)
            return value.strip() if value and value.strip() else None

        raw_timeout = text("AI_REQUEST_TIMEOUT")
        timeout = 30.0
        if raw_timeout is not None:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                raise ConfigurationError(
                    f"AI_REQUEST_TIMEOUT must be a positive number of seconds, got {raw_timeout!r}"
                ) from None
        return cls(
            api_key=text("OPENROUTER_API_KEY"),
            base_url=(text("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            timeout=timeout,
            site_url=text("OPENROUTER_SITE_URL"),
            site_name=text("OPENROUTER_SITE_NAME"),
        )


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_payload(cls, payload: Any) -> Usage | None:
        if not isinstance(payload, dict):
            return None

        def count(key: str) -> int:
            value = payload.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        prompt, completion = count("prompt_tokens"), count("completion_tokens")
        return cls(prompt, completion, count("total_tokens") or prompt + completion)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    finish_reason: str | None
    usage: Usage | None
    id: str | None
    raw: dict[str, Any] = field(repr=False)
