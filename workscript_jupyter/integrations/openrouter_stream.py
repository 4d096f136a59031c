"""``CompletionStream``: a chat completion streamed over SSE by an ``OpenRouterClient``."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import AIProviderError, AITimeoutError
from .openrouter_retry import _TooLarge
from .openrouter_types import Usage

if TYPE_CHECKING:
    from .openrouter import OpenRouterClient


class CompletionStream:
    """An answer streamed over SSE: iterate for the text pieces. After the end, ``text`` is
    the whole answer and ``usage`` the provider's final count (None if it sent none)."""

    def __init__(self, client: OpenRouterClient, body: dict[str, Any]) -> None:
        self._client = client
        self._body = body
        self._started = False
        self._iterator: AsyncGenerator[str, None] | None = None
        self._texts: list[str] = []
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.id: str | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._started:
            raise RuntimeError("a CompletionStream can be iterated only once")
        self._started = True
        self._iterator = self._pieces()
        return self._iterator

    async def aclose(self) -> None:
        """Stop early and release the connection (also done by ``async with``)."""
        if self._iterator is not None:
            await self._iterator.aclose()

    async def __aenter__(self) -> CompletionStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _open(self) -> httpx.Response:
        client = self._client

        async def once() -> httpx.Response:
            response = await client._send("POST", "/chat/completions", self._body)
            if response.is_success:
                return response
            try:
                raw = await client._read_capped(response)
            except _TooLarge:
                raise client._too_large() from None
            except httpx.HTTPError as problem:
                raise client._error(
                    AIProviderError, f"the AI provider call failed: {problem}"
                ) from None
            finally:
                await response.aclose()
            raise client._status_error(response, raw)

        return await client._with_retries(once)  # type: ignore[no-any-return]

    async def _pieces(self) -> AsyncGenerator[str, None]:
        client = self._client
        response = await self._open()
        size = 0
        pending: list[bytes] = []  # the bytes of the line not yet ended
        started = last_data = time.monotonic()
        try:
            try:
                async for chunk in response.aiter_bytes():
                    now = time.monotonic()
                    size += len(chunk)
                    if size > client.max_response_bytes:
                        raise client._too_large()
                    self._check_time(now, started, last_data)
                    if b"\n" not in chunk:  # a piece of a line: kept, never re-scanned
                        pending.append(chunk)
                        continue
                    pending.append(chunk)
                    *lines, rest = b"".join(pending).split(b"\n")
                    pending = [rest]
                    for line in lines:
                        if line.startswith(b"data:"):  # an event: the stream is alive
                            last_data = now
                        piece = self._line(line)
                        if piece is _DONE:
                            return
                        if isinstance(piece, str) and piece:
                            self._add(piece)
                            yield piece
                tail = b"".join(pending)
                if tail.strip():
                    piece = self._line(tail)
                    if isinstance(piece, str) and piece:
                        self._add(piece)
                        yield piece
            except httpx.TimeoutException:
                raise client._error(
                    AITimeoutError,
                    f"the AI provider's stream stalled for {client.config.timeout:g} s",
                ) from None
            except httpx.HTTPError as problem:
                raise client._error(AIProviderError, f"the AI stream broke: {problem}") from None
        finally:
            await response.aclose()

    def _check_time(self, now: float, started: float, last_data: float) -> None:
        """A stream that only sends keep-alive comments, or never ends, is a timeout."""
        config = self._client.config
        if now - last_data > config.timeout:
            raise self._client._error(
                AITimeoutError,
                f"the AI provider's stream sent no data for {config.timeout:g} s "
                "(only keep-alive comments)",
            )
        if now - started > config.max_stream_seconds:
            raise self._client._error(
                AITimeoutError,
                f"the AI provider's stream did not end within {config.max_stream_seconds:g} s",
            )

    def _add(self, piece: str) -> None:
        self._texts.append(piece)

    @property
    def text(self) -> str:
        """The answer so far (joined when asked: many small pieces cost no quadratic copy)."""
        if len(self._texts) > 1:
            self._texts = ["".join(self._texts)]
        return self._texts[0] if self._texts else ""

    def _line(self, raw: bytes) -> str | object | None:
        """The text of one SSE line; ``_DONE`` at ``[DONE]``; None for comments and others."""
        line = raw.decode("utf-8", "replace").rstrip("\r")
        if not line.startswith("data:"):
            return None  # ": OPENROUTER PROCESSING", event:, id:, blank lines
        data = line[5:].strip()
        if data == "[DONE]":
            return _DONE
        try:
            event = json.loads(data)
        except ValueError:
            raise self._client._error(
                AIProviderError, "the AI provider sent an unreadable stream event"
            ) from None
        if not isinstance(event, dict):
            return None
        if "error" in event:
            self._client._raise_in_band(event)
        if isinstance(event.get("model"), str):
            self.model = event["model"]
        if isinstance(event.get("id"), str):
            self.id = event["id"]
        usage = Usage.from_payload(event.get("usage"))
        if usage is not None:
            self.usage = usage
        choices = event.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        return content if isinstance(content, str) else None


_DONE = object()
