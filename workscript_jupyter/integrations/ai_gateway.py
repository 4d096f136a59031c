"""``DirectAIGateway``: the engine's ``AIGateway`` (``ctx.services.ai``) straight to the provider.

A kernel or the ``workscript`` command uses it as it is when ``OPENROUTER_API_KEY`` is set
(``from_env``): no usage rows, no budget, ``cost`` None. The server wraps it (service/ai.py)
to check the owner's budget first and to record usage and cost after.

With ``on_text`` the answer is streamed and ``on_text`` gets the whole text so far: after the
first piece, then at most every ``text_interval`` seconds (50 ms) while pieces arrive, and once
more at the end when the last call did not have it all. Turning those calls into events, and
coalescing events for a browser, is the engine's and the server's work; this only keeps a
provider that sends a thousand tiny pieces a second from making a thousand calls.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..errors import AIInvalidRequestError
from .openrouter import OpenRouterClient
from .openrouter_types import AIConfig, Usage

__all__ = ["CHAT_OPTIONS", "DirectAIGateway"]

# what a node may pass in ``options``: the provider's own names, nothing that changes where or
# how the request is sent (``stream`` is the gateway's choice, ``model``/``messages`` arguments)
CHAT_OPTIONS: Final = frozenset(
    {
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "response_format",
    }
)


class DirectAIGateway:
    """Chat completions through one ``OpenRouterClient`` (see the module docstring)."""

    def __init__(self, client: OpenRouterClient, *, text_interval: float = 0.05) -> None:
        self._client = client
        self.text_interval = text_interval
        # the loop the client's connections belong to (see _client_here); weak, so a loop
        # that ended is not kept alive by a gateway that outlived it
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, reuse: DirectAIGateway | None = None
    ) -> DirectAIGateway | None:
        """A gateway configured from ``OPENROUTER_*`` and ``AI_REQUEST_TIMEOUT``; None when no
        API key is set (the ``ask-ai`` node then says how to get one). ``reuse`` is returned
        when its configuration is the same (a kernel asks before each run: a key set in a
        cell takes effect, and an unchanged one keeps its connections). A bad
        ``AI_REQUEST_TIMEOUT`` is a ``ConfigurationError`` only when a key is set."""
        if not (environ.get("OPENROUTER_API_KEY") or "").strip():
            return None
        config = AIConfig.from_env(environ)
        if reuse is not None and reuse._client.config == config:
            return reuse
        return cls(OpenRouterClient(config))

    def __repr__(self) -> str:
        return f"DirectAIGateway({self._client!r})"

    async def aclose(self) -> None:
        """Close the client's connections: on the loop they belong to; from another loop
        they are only dropped (they went with their loop, and cannot be closed from here)."""
        if self._loop is None or self._loop() is asyncio.get_running_loop():
            await self._client.aclose()
        else:
            self._client = self._fresh_client()
        self._loop = None

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """One completion as the ``AIGateway`` protocol describes it. ``execution_id``,
        ``workflow_id`` and ``node_path`` are for the server's usage rows: unused here."""
        unknown = sorted(set(options) - CHAT_OPTIONS)
        if unknown:
            raise AIInvalidRequestError(
                f"option(s) {unknown} are not chat options; allowed: {sorted(CHAT_OPTIONS)}"
            )
        client = self._client_here()
        started = time.monotonic()
        if on_text is None:
            answer = await client.complete(messages, model, **options)
            text, used, usage = answer.text, answer.model, answer.usage
            finish, ident = answer.finish_reason, answer.id
        else:
            stream = client.stream(messages, model, **options)
            async with stream:
                await self._follow(stream, on_text)
            text, used, usage = stream.text, stream.model or model, stream.usage
            finish, ident = stream.finish_reason, stream.id
        return {
            "id": ident,
            "content": text,
            "model": used or model,
            "usage": _usage(usage),
            "cost": None,
            "finishReason": finish,
            "durationMs": round((time.monotonic() - started) * 1000),
        }

    async def _follow(self, stream: Any, on_text: Callable[[str], None]) -> None:
        """Read the stream, telling ``on_text`` the text so far at most every
        ``text_interval`` seconds, and the whole text at the end."""
        told = 0
        last = 0.0
        async for _ in stream:
            now = time.monotonic()
            if told == 0 or now - last >= self.text_interval:
                on_text(stream.text)
                told, last = len(stream.text), now
        if told != len(stream.text):
            on_text(stream.text)

    def _client_here(self) -> OpenRouterClient:
        """The client, for the running loop. An ``httpx`` client's connections belong to the
        loop that opened them: a kernel without a running loop runs each workflow in a new
        one (``asyncio.run``), so a new loop gets a new client (same configuration); the old
        one's connections went with their loop."""
        loop = asyncio.get_running_loop()
        known = self._loop() if self._loop is not None else None
        if known is not loop:
            if self._loop is not None:
                self._client = self._fresh_client()
            self._loop = weakref.ref(loop)
        return self._client

    def _fresh_client(self) -> OpenRouterClient:
        old = self._client
        return OpenRouterClient(old.config, max_response_bytes=old.max_response_bytes)


def _usage(usage: Usage | None) -> dict[str, int]:
    """The protocol's camelCase counts; zeros when the provider sent none."""
    usage = usage or Usage()
    return {
        "promptTokens": usage.prompt_tokens,
        "completionTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
    }
