"""A stand-in for OpenRouter: a small tornado app on 127.0.0.1 speaking OpenAI's
``chat/completions`` (whole, SSE and JSON answers) and ``/models``, with scripted failures.

``OpenRouterStandIn`` runs it in a thread of its own (``start``/``stop``, or ``with``), so a
test or a benchmark (``bench/``) on any event loop can call it. ``base_url`` is what goes into
``AIConfig.base_url``; ``key`` the only API key it accepts; ``requests`` what it was sent.

Models (the ``model`` of a request) script what happens:

- any model: echoes the last message (``echo: <text>``); streamed: "Hello", ", ", "world";
  ``response_format`` json_object → ``{"answer": 42}``, json_schema → an instance of the schema;
- ``test/slow-stream``: the answer streamed in pieces ``slow_stream_interval`` (0.2 s) apart;
- ``test/json-invalid`` (with a response_format): text that is not JSON;
- ``test/json-mismatch``: JSON whose first property has the wrong type for the schema;
- ``nobody/no-such-model`` 404, ``bad/not-valid`` 400 "not a valid model", ``test/bad-request``
  400, ``test/rate-limited-once`` (429 then fine), ``test/rate-limited-forever``,
  ``test/fails-once`` (500 then fine), ``test/fails-forever`` (502), ``test/slow`` (1.5 s),
  ``test/drip`` (a byte every 0.1 s), ``test/redirect`` (307), ``test/huge`` (300 kB),
  ``test/huge-stream`` (300 kB streamed), ``test/stream-error`` (an error event mid-stream).

``latency`` (seconds) delays every completion, as a real provider does (benchmarks).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from .openrouter_answers import MODELS, answer_text, completion, pieces_of
from .threaded import ThreadedApp

__all__ = ["KEY", "MODELS", "OpenRouterStandIn"]

KEY = "sk-or-v1-0123456789abcdef-secret"
SLOW_STREAM_MODEL = "test/slow-stream"


class OpenRouterStandIn(ThreadedApp):
    """The stand-in server and what it saw. Counters: ``counts`` per scripted model,
    ``completions`` (chat requests), ``in_flight`` / ``max_in_flight`` (concurrency)."""

    def __init__(
        self,
        *,
        key: str = KEY,
        latency: float = 0.0,
        slow_stream_interval: float = 0.2,
        slow_stream_pieces: int = 5,
    ) -> None:
        self.key = key
        self.latency = latency
        self.slow_stream_interval = slow_stream_interval
        self.slow_stream_pieces = slow_stream_pieces
        self.requests: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.completions = 0
        self.in_flight = 0
        self.max_in_flight = 0
        super().__init__()
        self._lock = self.lock

    thread_name = "openrouter-stand-in"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/v1"

    def hit(self, name: str) -> int:
        """Count one more request for ``name``; the new count."""
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + 1
            return self.counts[name]

    def reset(self) -> None:
        """Forget the requests and counters (the once-only failures fail again)."""
        with self._lock:
            self.requests.clear()
            self.counts.clear()
            self.completions = self.max_in_flight = 0

    # -- life cycle

    def routes(self) -> list[Any]:
        return [
            (r"/api/v1/chat/completions", _Completions, {"stand_in": self}),
            (r"/api/v1/models", _Models, {"stand_in": self}),
        ]

    # -- what the handlers record

    def _seen(self, request: Any, body: Any) -> None:
        entry = {"path": request.path, "headers": dict(request.headers), "body": body}
        with self._lock:
            self.requests.append(entry)

    def _enter(self) -> None:
        with self._lock:
            self.completions += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


class _Handler(tornado.web.RequestHandler):
    def initialize(self, stand_in: OpenRouterStandIn) -> None:
        self.stand_in = stand_in

    def authorized(self) -> bool:
        if self.request.headers.get("Authorization") == f"Bearer {self.stand_in.key}":
            return True
        self.set_status(401)
        # a provider that echoes what it got: the client must scrub it
        got = self.request.headers.get("Authorization", "")
        self.finish({"error": {"code": 401, "message": f"No auth credentials found: {got}"}})
        return False


class _Models(_Handler):
    def get(self) -> None:
        self.stand_in._seen(self.request, None)
        if self.authorized():
            self.finish({"data": MODELS})


class _Completions(_Handler):
    async def post(self) -> None:
        body = json.loads(self.request.body)
        self.stand_in._seen(self.request, body)
        if not self.authorized():
            return
        self.stand_in._enter()
        try:
            if self.stand_in.latency > 0:
                await asyncio.sleep(self.stand_in.latency)
            await self._answer(str(body.get("model", "")), body)
        finally:
            self.stand_in._leave()

    def _error(self, status: int, message: str, retry_after: str | None = None) -> None:
        self.set_status(status)
        if retry_after is not None:
            self.set_header("Retry-After", retry_after)
        self.finish({"error": {"code": status, "message": message}})

    async def _answer(self, model: str, body: dict[str, Any]) -> None:
        hit = self.stand_in.hit
        if model == "nobody/no-such-model":
            return self._error(404, f"Model {model} not found")
        if model == "bad/not-valid":
            return self._error(400, f"{model} is not a valid model ID")
        if model == "test/bad-request":
            return self._error(400, "temperature must be <= 2")
        if model == "test/rate-limited-once" and hit(model) == 1:
            return self._error(429, "slow down", retry_after="0.2")
        if model == "test/rate-limited-forever":
            hit(model)
            return self._error(429, "slow down", retry_after="0.05")
        if model == "test/fails-once" and hit(model) == 1:
            return self._error(500, "upstream hiccup")
        if model == "test/fails-forever":
            hit(model)
            self.set_status(502)
            self.finish("<html>bad gateway</html>")
            return None
        if model == "test/slow":
            await asyncio.sleep(1.5)
        if model == "test/drip":  # a byte every 0.1 s: no single read waits past the timeout
            self.set_header("Content-Type", "application/json")
            for _ in range(15):
                self.write(" ")
                await self.flush()
                await asyncio.sleep(0.1)
            self.finish(json.dumps(completion("late", model)))
            return None
        if model == "test/redirect":
            self.redirect("https://elsewhere.test/", status=307)
            return None
        if model == "test/huge":
            self.finish(json.dumps(completion("x" * 300_000, model)))
            return None
        if model == "test/huge-stream":  # chunked, no Content-Length: counted while read
            self.set_header("Content-Type", "text/event-stream")
            piece = {"choices": [{"delta": {"content": "y" * 10_000}}]}
            for _ in range(30):
                self.write(f"data: {json.dumps(piece)}\n\n")
                await self.flush()
            self.finish("data: [DONE]\n\n")
            return None
        text = answer_text(model, body)
        if body.get("stream"):
            await self._stream(model, text)
            return None
        self.finish(completion(text or "", model))
        return None

    async def _stream(self, model: str, text: str | None) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.write(": OPENROUTER PROCESSING\n\n")
        await self.flush()
        slow = model == SLOW_STREAM_MODEL
        if text is None:
            text = "The answer arrives slowly, piece by piece." if slow else None
        count = self.stand_in.slow_stream_pieces if slow else 3
        pieces = ["Hello", ", ", "world"] if text is None else pieces_of(text, count)
        for index, piece in enumerate(pieces):
            if slow and index:
                await asyncio.sleep(self.stand_in.slow_stream_interval)
            chunk = {"id": "gen-2", "model": model, "choices": [{"delta": {"content": piece}}]}
            self.write(f"data: {json.dumps(chunk)}\n\n")
            await self.flush()
        if model == "test/stream-error":
            self.write('data: {"error": {"code": 502, "message": "provider died"}}\n\n')
            self.finish()
            return
        end = {
            "id": "gen-2",
            "model": model,
            "choices": [{"delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }
        self.write(f"data: {json.dumps(end)}\n\n")
        self.write("data: [DONE]\n\n")
        self.finish()


def main() -> None:
    """``python -m tests.standins.openrouter [--latency S]``: the stand-in in a process of its
    own (a benchmark's client then does not share the GIL with it); prints its base URL and
    key on one line, serves until killed."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="the OpenRouter stand-in, on 127.0.0.1")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per completion")
    args = parser.parse_args()
    stand_in = OpenRouterStandIn(latency=args.latency).start()
    print(stand_in.base_url, stand_in.key, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
