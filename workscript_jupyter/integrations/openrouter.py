"""The OpenRouter client: chat completions (whole or streamed over SSE) and the model list.

One shared ``httpx.AsyncClient`` per ``OpenRouterClient``, created on first use and closed by
``aclose()``. Any OpenAI-compatible gateway works through ``AIConfig.base_url``. A 429, a 5xx
or a failed connection is retried (at most ``max_retries`` times after the first attempt) with
exponential backoff and jitter, or after the provider's ``Retry-After`` (capped at
``MAX_RETRY_AFTER`` seconds); 400/401/403/404 are never retried. Failures raise one of the
``AIError`` subclasses of ``errors/outside.py`` (code MISSING_API_KEY, AUTH_FAILED, MODEL_NOT_FOUND,
INVALID_REQUEST, RATE_LIMITED, TIMEOUT, PROVIDER_ERROR). The API key is never logged and never
appears in a repr, a message or details: any text from the provider is scrubbed of it too.
Bodies are read while streaming and refused past ``max_response_bytes`` (10 MB by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import httpx

from ..errors import (
    AIAuthError,
    AIError,
    AIInvalidRequestError,
    AIMissingKeyError,
    AIModelNotFoundError,
    AIProviderError,
    AIRateLimitedError,
    AITimeoutError,
    ConfigurationError,
)
from .openrouter_retry import _retry_after, _Retryable, _TooLarge
from .openrouter_stream import CompletionStream
from .openrouter_types import (
    DEFAULT_BASE_URL,
    MAX_BACKOFF,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER,
    AIConfig,
    Completion,
    Usage,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "AIConfig",
    "Completion",
    "CompletionStream",
    "OpenRouterClient",
    "Usage",
]

log = logging.getLogger(__name__)

_MESSAGE_LIMIT = 500
_RESERVED_OPTIONS = frozenset({"model", "messages", "stream"})
_MODEL_MISSING = re.compile(
    r"(not a valid model|model\b.*\b(not found|does not exist|doesn't exist|unknown|not exist)"
    r"|(unknown|invalid|no such) model)",
    re.IGNORECASE,
)


# -- the client -------------------------------------------------------------------------------


class OpenRouterClient:
    """Calls OpenRouter (or a compatible gateway) with ``config``. Share one per event loop:
    its ``httpx.AsyncClient`` is made on first use, in that loop, and kept until ``aclose()``.
    Non-streamed calls are bounded by ``config.timeout`` per attempt as a whole; a stream by
    ``config.timeout`` between two reads. Usage of a stream arrives only if the provider sends
    it (OpenRouter does; OpenAI-style gateways want ``stream_options={"include_usage": True}``)."""

    def __init__(self, config: AIConfig, *, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        if not isinstance(config, AIConfig):
            raise ConfigurationError("OpenRouterClient needs an AIConfig")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int):
            raise ConfigurationError("max_response_bytes must be a whole number of bytes")
        if max_response_bytes <= 0:
            raise ConfigurationError("max_response_bytes must be positive")
        self.config = config
        self.max_response_bytes = max_response_bytes
        self._client: httpx.AsyncClient | None = None
        self.attempts = 0  # requests sent, retries included (for tests and metrics)

    def __repr__(self) -> str:
        return f"OpenRouterClient({self.config!r})"

    # -- lifecycle

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.config.timeout), follow_redirects=False
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> OpenRouterClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- public calls

    async def complete(
        self, messages: Sequence[Mapping[str, Any]], model: str, **options: Any
    ) -> Completion:
        """One chat completion (POST {base}/chat/completions)."""
        body = self._body(messages, model, options, stream=False)
        payload = await self._call_json("POST", "/chat/completions", body)
        return self._completion(payload)

    def stream(
        self, messages: Sequence[Mapping[str, Any]], model: str, **options: Any
    ) -> CompletionStream:
        """The answer as it arrives: ``async for piece in client.stream(...)``. Afterwards the
        stream's ``usage``, ``finish_reason``, ``model``, ``id`` and ``text`` are set (usage
        when the provider sends it). Bad arguments raise here, before any request."""
        body = self._body(messages, model, options, stream=True)
        return CompletionStream(self, body)

    async def models(self) -> list[dict[str, Any]]:
        """The provider's models (GET {base}/models, its ``data`` array)."""
        payload = await self._call_json("GET", "/models", None)
        data = payload.get("data")
        if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
            raise self._error(AIProviderError, "the model list has no 'data' array of objects")
        return data

    # -- building and reading

    def _body(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        options: Mapping[str, Any],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        if not isinstance(model, str) or not model.strip():
            raise AIInvalidRequestError(
                "model must be a non-empty model id such as 'openai/gpt-4o'"
            )
        if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
            raise AIInvalidRequestError("messages must be a non-empty list of {role, content}")
        for index, message in enumerate(messages):
            if not isinstance(message, Mapping):
                raise AIInvalidRequestError(f"messages[{index}] must be an object")
            if not isinstance(message.get("role"), str) or not message["role"]:
                raise AIInvalidRequestError(f"messages[{index}].role must be a non-empty string")
            content = message.get("content")
            if not isinstance(content, str | list):
                raise AIInvalidRequestError(
                    f"messages[{index}].content must be text or a list of parts"
                )
        clash = sorted(_RESERVED_OPTIONS & set(options))
        if clash:
            raise AIInvalidRequestError(f"option(s) {clash} cannot be set: they are arguments")
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
        body.update(options)
        if stream:
            body["stream"] = True
        try:
            json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as problem:
            raise AIInvalidRequestError(
                f"the request is not JSON-serialisable: {problem}"
            ) from None
        return body

    def _headers(self) -> dict[str, str]:
        if not self.config.has_key:
            raise AIMissingKeyError(
                "no OpenRouter API key is configured: set OPENROUTER_API_KEY on the server"
            )
        assert self.config.api_key is not None
        headers = {
            "Authorization": f"Bearer {self.config.api_key.strip()}",
            "Accept": "application/json",
        }
        if self.config.site_url:
            headers["HTTP-Referer"] = self.config.site_url
        if self.config.site_name:
            headers["X-Title"] = self.config.site_name
        return headers

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _scrub(self, text: str) -> str:
        key = (self.config.api_key or "").strip()
        if key:
            text = text.replace(key, "[redacted]")
        return text[:_MESSAGE_LIMIT]

    def _error(
        self, kind: type[AIError], message: str, *, details: Any = None, **extra: Any
    ) -> AIError:
        safe = self._scrub(message)
        if details is not None:
            details = json.loads(self._scrub_json(details))
        error = kind(safe, details=details, **extra)
        return error

    def _scrub_json(self, value: Any) -> str:
        text = json.dumps(value, default=str)
        key = (self.config.api_key or "").strip()
        return text.replace(key, "[redacted]") if key else text

    def _completion(self, payload: dict[str, Any]) -> Completion:
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._error(AIProviderError, "the provider's answer has no choices")
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if content is not None and not isinstance(content, str):
            raise self._error(AIProviderError, "the provider's answer content is not text")
        finish = choice.get("finish_reason")
        ident = payload.get("id")
        return Completion(
            text=content or "",
            model=str(payload.get("model") or ""),
            finish_reason=finish if isinstance(finish, str) else None,
            usage=Usage.from_payload(payload.get("usage")),
            id=ident if isinstance(ident, str) else None,
            raw=payload,
        )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> AIError:
        return self._error(
            AIProviderError,
            f"the provider's answer is larger than the {self.max_response_bytes} byte limit",
        )

    def _provider_message(self, raw: bytes) -> tuple[str, Any]:
        """The provider's own error message and code from an error body, if it has them."""
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return raw.decode("utf-8", "replace").strip(), None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or ""), error.get("code")
        if isinstance(error, str):
            return error, None
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):
            return payload["message"], None
        return "", None

    def _status_error(self, response: httpx.Response, raw: bytes) -> AIError | _Retryable:
        """The error for a non-2xx answer; ``_Retryable`` wraps those worth another attempt."""
        status = response.status_code
        text, provider_code = self._provider_message(raw)
        details = {"status": status, "providerCode": provider_code}
        said = f": {text}" if text else ""
        if status in (401, 403):
            return self._error(
                AIAuthError,
                f"the AI provider refused the server's API key (HTTP {status}){said}",
                details=details,
            )
        if status == 404 or (status == 400 and _MODEL_MISSING.search(text or "")):
            return self._error(
                AIModelNotFoundError, f"the AI provider has no such model{said}", details=details
            )
        if status == 429:
            wait = _retry_after(response)
            error = self._error(
                AIRateLimitedError,
                f"the AI provider is rate limiting this server{said}",
                details={**details, "retryAfter": wait},
                retry_after=wait if wait is not None else 1.0,
            )
            return _Retryable(error, wait)
        if status < 400:
            return self._error(
                AIProviderError,
                f"the AI provider answered HTTP {status} (redirects are not followed; "
                "check the base URL)",
                details=details,
            )
        if status >= 500:
            error = self._error(
                AIProviderError, f"the AI provider failed (HTTP {status}){said}", details=details
            )
            return _Retryable(error, _retry_after(response))
        return self._error(
            AIInvalidRequestError,
            f"the AI provider refused the request (HTTP {status}){said}",
            details=details,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        ceiling: float = min(MAX_BACKOFF, self.config.backoff_base * 2.0**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter, not a secret

    async def _with_retries(self, attempt_once: Any) -> Any:
        """Run ``attempt_once()`` until it succeeds, raises a final error, or retries run out."""
        self._headers()  # MISSING_API_KEY before any request
        attempt = 0
        while True:
            try:
                return await attempt_once()
            except _Retryable as retry:
                if attempt >= self.config.max_retries:
                    raise retry.error from None
                wait = self._backoff(attempt, retry.retry_after)
                log.warning(
                    "AI provider call failed (%s); retry %d of %d in %.2f s",
                    retry.error.code,
                    attempt + 1,
                    self.config.max_retries,
                    wait,
                )
                attempt += 1
                await asyncio.sleep(wait)

    async def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        """Send one request in streaming mode; connection failures become ``_Retryable``."""
        client = self._http()
        request = client.build_request(method, self._url(path), headers=self._headers(), json=body)
        self.attempts += 1
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise _Retryable(
                self._error(AITimeoutError, "the AI provider did not accept a connection in time")
            ) from None
        except httpx.TimeoutException:
            raise self._error(
                AITimeoutError,
                f"the AI provider did not answer within {self.config.timeout:g} s "
                "(AI_REQUEST_TIMEOUT)",
            ) from None
        except httpx.ConnectError as problem:
            raise _Retryable(
                self._error(AIProviderError, f"cannot reach the AI provider: {problem}")
            ) from None
        except httpx.HTTPError as problem:
            raise self._error(AIProviderError, f"the AI provider call failed: {problem}") from None

    async def _call_json(self, method: str, path: str, body: Any) -> dict[str, Any]:
        async def once() -> dict[str, Any]:
            # a whole attempt, not only each read, is bounded: a provider dripping bytes
            # cannot hold a call past AI_REQUEST_TIMEOUT
            try:
                async with asyncio.timeout(self.config.timeout):
                    return await attempt()
            except TimeoutError as problem:
                if isinstance(problem, AIError):
                    raise
                raise self._error(
                    AITimeoutError,
                    f"the AI provider did not answer within {self.config.timeout:g} s "
                    "(AI_REQUEST_TIMEOUT)",
                ) from None

        async def attempt() -> dict[str, Any]:
            response = await self._send(method, path, body)
            try:
                raw = await self._read_capped(response)
            except _TooLarge:
                raise self._too_large() from None
            except httpx.TimeoutException:
                raise self._error(
                    AITimeoutError,
                    f"the AI provider did not finish answering within {self.config.timeout:g} s",
                ) from None
            except httpx.HTTPError as problem:
                raise self._error(
                    AIProviderError, f"the AI provider call failed: {problem}"
                ) from None
            finally:
                await response.aclose()
            if not response.is_success:
                raise self._status_error(response, raw)
            try:
                payload = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise self._error(AIProviderError, "the AI provider's answer is not JSON") from None
            if not isinstance(payload, dict):
                raise self._error(AIProviderError, "the AI provider's answer is not a JSON object")
            if "error" in payload and "choices" not in payload and "data" not in payload:
                self._raise_in_band(payload)
            return payload

        return await self._with_retries(once)  # type: ignore[no-any-return]

    def _raise_in_band(self, payload: dict[str, Any]) -> NoReturn:
        """An error sent with HTTP 200 (OpenRouter does, and mid-stream)."""
        error = payload.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        text = str(message or "unknown error")
        details = {"providerCode": code}
        kind: type[AIError] = AIProviderError
        if code in (401, 403):
            kind = AIAuthError
        elif code == 404 or _MODEL_MISSING.search(text):
            kind = AIModelNotFoundError
        elif isinstance(code, int) and 400 <= code < 500 and code != 429:
            kind = AIInvalidRequestError
        if code == 429:
            raise self._error(
                AIRateLimitedError,
                f"the AI provider is rate limiting this server: {text}",
                details={**details, "retryAfter": None},
                retry_after=1.0,
            )
        raise self._error(kind, f"the AI provider reported an error: {text}", details=details)
