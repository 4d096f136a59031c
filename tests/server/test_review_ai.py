"""Review of AI on the server, against a provider that misbehaves: the budget must count what
is spent (a stream cancelled before its end, a model the catalogue cannot price), streams that
never end must end, bad usage periods are 400s, and the key shows up nowhere.

``Provider`` is a small stand-in of its own (the shared one has no priced slow stream, and no
stream that never ends): a tornado app on 127.0.0.1 in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from tests.standins.openrouter_answers import MODELS as STANDIN_MODELS
from tests.standins.openrouter_answers import completion
from workscript_jupyter.errors import AITimeoutError
from workscript_jupyter.integrations.openrouter import OpenRouterClient
from workscript_jupyter.integrations.openrouter_types import AIConfig
from workscript_jupyter.nodes import ai_json
from workscript_jupyter.nodes.ai_json import AnswerProblem, check_schema, parse_answer

from .conftest import Api, document, server_config

KEY = "sk-or-v1-review-0123456789-very-secret"
SLOW = "review/slow"  # streamed in PIECES pieces, PIECE_GAP seconds apart
KEEPALIVE = "review/keepalive"  # only ": keep-alive" comments, forever
ENDLESS = "review/endless"  # a data event with one character, forever
UNPRICED = "review/unpriced"  # answered, but not in the model list
PIECES, PIECE_GAP, PIECE = 40, 0.1, "word " * 20
PRICE = "0.001"  # USD per token, prompt and completion
FINISHED = {"completed", "failed", "timed_out", "cancelled", "interrupted"}
SECRETS: dict[str, Any] = {
    "jwt_secret": "a" * 40,
    "jwt_refresh_secret": "b" * 40,
    "session_secret": "c" * 40,
}


def _priced(model_id: str) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(json.dumps(STANDIN_MODELS[0]))  # OpenRouter's shape
    model.update(id=model_id, name=model_id, pricing={"prompt": PRICE, "completion": PRICE})
    return model


class Provider:
    """The stand-in: ``pieces_sent`` counts the pieces of SLOW streams written so far."""

    def __init__(self) -> None:
        self.pieces_sent = 0
        self.completions: list[str] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def __enter__(self) -> Provider:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = tornado.web.Application(
                [
                    (r"/api/v1/models", _Models),
                    (r"/api/v1/chat/completions", _Completions, {"provider": self}),
                ]
            )
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            self._loop = loop
            ready.set()
            loop.run_forever()
            server.stop()
            loop.close()

        self._thread = threading.Thread(target=run, name="review-provider", daemon=True)
        self._thread.start()
        assert ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


class _Models(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"data": [_priced(model) for model in (SLOW, KEEPALIVE, ENDLESS)]})


class _Completions(tornado.web.RequestHandler):
    def initialize(self, provider: Provider) -> None:
        self.provider = provider

    async def post(self) -> None:
        body = json.loads(self.request.body)
        model = body["model"]
        self.provider.completions.append(model)
        if not body.get("stream"):
            self.finish(completion("a whole answer", model))
            return
        self.set_header("Content-Type", "text/event-stream")
        # the client may go away: what a real provider sees when a run is cancelled
        with contextlib.suppress(tornado.iostream.StreamClosedError):
            await self._stream(model)

    async def _stream(self, model: str) -> None:
        count = 0
        while model in (KEEPALIVE, ENDLESS) or count < PIECES:
            if model == KEEPALIVE:
                self.write(": keep-alive\n\n")
            else:
                text = "x" if model == ENDLESS else PIECE
                chunk = {"id": "gen-r", "model": model, "choices": [{"delta": {"content": text}}]}
                self.write(f"data: {json.dumps(chunk)}\n\n")
                if model == SLOW:
                    self.provider.pieces_sent += 1
            await self.flush()
            count += 1
            await asyncio.sleep(PIECE_GAP if model == SLOW else 0.05)
        usage = {"prompt_tokens": 10, "completion_tokens": 500, "total_tokens": 510}
        end = {"id": "gen-r", "model": model, "choices": [{"delta": {}}], "usage": usage}
        self.finish(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with Provider() as stand_in:
        yield stand_in


def ask(model: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "ask-ai": {
            "userPrompt": "hi",
            "model": model,
            "stream": stream,
            "error?": {"$.failed": "$._edgeContext"},
            **extra,
        }
    }


async def saved_workflow(api: Api, *steps: Any) -> str:
    reply = await api.post("workflows", json_body={"definition": document(*steps)})
    assert reply.code == 201, reply.raw
    return str(reply.body["id"])


class TestBudgetCountsEverything:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url: str, provider: Provider) -> Any:
        return server_config(
            workscript_db_url,
            openrouter_api_key=KEY,
            openrouter_base_url=provider.base_url,
            ai_model_sync_interval=0,
            ai_request_timeout=1.0,
            ai_monthly_budget_usd=100.0,
            **SECRETS,
        )

    async def test_a_stream_cancelled_before_its_end_is_billed(
        self, api: Api, provider: Provider, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        assert (await api.post("ai", "models", "sync")).code == 200
        workflow_id = await saved_workflow(api, ask(SLOW))
        started = await api.post("workflows", workflow_id, "run")
        assert started.code == 202, started.raw
        run_id = started.body["id"]
        first = provider.pieces_sent
        deadline = time.monotonic() + 10
        while provider.pieces_sent < first + 5:  # half a second of text has reached the run
            assert time.monotonic() < deadline, "the stream did not start"
            await asyncio.sleep(0.05)
        cancelled = await api.post("executions", run_id, "cancel")
        assert cancelled.code == 200, cancelled.raw
        ended = await api.wait_for_status(run_id, FINISHED)
        assert ended["status"] == "cancelled", ended
        assert provider.pieces_sent < first + PIECES  # it did not run to its end

        usage = await api.get("ai", "usage")
        assert usage.code == 200, usage.raw
        (group,) = usage.body["items"]
        assert (group["key"], group["requests"]) == (SLOW, 1)
        # 5+ pieces of 100 characters: 125+ estimated completion tokens at $0.001
        assert group["completionTokens"] >= 125 and group["cost"] >= 0.125, group
        assert KEY not in caplog.text

    async def test_a_model_the_catalogue_cannot_price_is_refused_under_a_budget(
        self, api: Api, provider: Provider
    ) -> None:
        assert (await api.post("ai", "models", "sync")).code == 200
        before = len(provider.completions)
        workflow_id = await saved_workflow(api, ask(UNPRICED, stream=False))
        run = await api.post("workflows", workflow_id, "run", params={"wait": 10})
        assert run.code == 200, run.raw
        failed = run.body["finalState"]["failed"]
        assert failed["code"] == "MODEL_NOT_PRICED" and UNPRICED in failed["error"], failed
        assert provider.completions[before:] == []  # refused before any request

        # a variant of a listed model is billed at its base model's price
        workflow_id = await saved_workflow(api, ask(f"{SLOW}:nitro", stream=False))
        run = await api.post("workflows", workflow_id, "run", params={"wait": 10})
        assert run.body["status"] == "completed", run.body
        assert run.body["finalState"]["aiResponseData"]["usage"]["cost"] > 0

    async def test_a_key_without_ai_use_spends_nothing_even_through_a_child_run(
        self, api: Api, provider: Provider, jp_fetch: Any
    ) -> None:
        assert (await api.post("ai", "models", "sync")).code == 200
        child = document(ask(SLOW, stream=False), id="asks")
        assert (await api.post("workflows", json_body={"definition": child})).code == 201
        parent_id = await saved_workflow(
            api,
            {"runWorkflow": {"workflowId": "asks"}},
            ask(SLOW, stream=False),
        )
        permissions = ["workflow:read", "workflow:execute", "execution:read"]
        made = await api.post("keys", json_body={"name": "robot", "permissions": permissions})
        assert made.code == 201, made.raw
        robot = Api(jp_fetch, {"X-API-Key": made.body["key"], "Authorization": ""})
        before = len(provider.completions)
        run = await robot.post("workflows", parent_id, "run", params={"wait": 10})
        assert run.code == 200, run.raw
        state = run.body["finalState"]
        assert state["failed"]["code"] == "FORBIDDEN", state
        child = state["runWorkflowFinalState"]["failed"]  # the child acted as the key too
        assert child["code"] == "FORBIDDEN" and "ai:use" in child["error"], state
        assert provider.completions[before:] == []

    async def test_a_stream_of_keep_alives_only_times_out(
        self, api: Api, provider: Provider
    ) -> None:
        assert (await api.post("ai", "models", "sync")).code == 200
        workflow_id = await saved_workflow(api, ask(KEEPALIVE))
        run = await api.post("workflows", workflow_id, "run", params={"wait": 20})
        assert run.code == 200, run.raw  # the run ended: keep-alives alone did not hold it
        failed = run.body["finalState"]["failed"]
        # the idle limit (ai_request_timeout) stopped it, not the stream's overall limit
        assert failed["code"] == "TIMEOUT" and "sent no data for 1 s" in failed["error"], failed

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"to": "9999-12-31"}, "to"),
            ({"from": "0001-01-01T00:00:00+05:00", "to": "0001-02-01"}, "from"),
            ({"from": "9999-06-01", "to": "9999-12-31T23:00:00-05:00"}, "from"),
            ({"from": "1960-01-01", "to": "1960-02-01"}, "from"),
        ],
    )
    async def test_usage_periods_at_the_calendars_edges_are_400(
        self, api: Api, params: dict[str, str], field: str
    ) -> None:
        reply = await api.get("ai", "usage", params=params)
        assert reply.code == 400, reply.raw
        assert reply.error["details"][0]["field"] == field


def test_a_stream_that_never_ends_is_cut_at_its_limit(provider: Provider) -> None:
    config = AIConfig(api_key=KEY, base_url=provider.base_url, timeout=1.0, max_stream_seconds=1.0)

    async def read() -> str:
        async with OpenRouterClient(config) as client:
            stream = client.stream([{"role": "user", "content": "hi"}], ENDLESS)
            async with stream:
                async for _ in stream:
                    pass
            return stream.text

    with pytest.raises(AITimeoutError) as stopped:
        asyncio.run(asyncio.wait_for(read(), 10))  # not AITimeoutError: the limit did nothing
    assert stopped.value.code == "TIMEOUT"
    assert "did not end within 1 s" in stopped.value.message  # max_stream_seconds, not idling
    assert KEY not in repr(stopped.value.details) and KEY not in stopped.value.message


def test_a_long_json_answer_is_read_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # 7.5 MB, far past OFF_LOOP_CHARS: read in a thread, while the event loop serves on
    answer = "[" + "[]," * 200 + ",".join(['"ab"'] * 1_500_000) + "]"
    assert len(answer) > ai_json.OFF_LOOP_CHARS
    readers: list[int] = []  # the thread each read of the answer ran in
    load_json = ai_json.load_json

    def recorded(text: str, **kwargs: Any) -> Any:
        readers.append(threading.get_ident())
        return load_json(text, **kwargs)

    monkeypatch.setattr(ai_json, "load_json", recorded)

    async def read() -> tuple[Any, int]:
        value = await parse_answer(None, answer, None)  # type: ignore[arg-type]
        return value, threading.get_ident()

    value, loop_thread = asyncio.run(read())
    assert len(value) == 1_500_200
    assert len(readers) == 1, readers  # the answer was read once, through load_json
    assert readers[0] != loop_thread, "the answer was read on the event loop's thread"


def test_a_huge_json_schema_is_refused_without_serialising_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 50 MB of schema (a state can hold 64 MB): serialising it would hold the GIL for long
    properties = {f"p{i}": {"type": "string", "enum": ["abcdefgh"] * 50} for i in range(80_000)}
    schema = {"type": "object", "properties": properties}
    serialised: list[str] = []  # json.dumps calls, as ai_json makes them (json is shared)
    dumps = ai_json.json.dumps

    def recorded(value: Any, *args: Any, **kwargs: Any) -> str:
        serialised.append(type(value).__name__)
        return dumps(value, *args, **kwargs)

    monkeypatch.setattr(ai_json.json, "dumps", recorded)

    async def check() -> None:
        with pytest.raises(AnswerProblem) as refused:
            await check_schema(None, schema)  # type: ignore[arg-type]
        assert refused.value.code == "INVALID_SCHEMA", refused.value.message
        assert f"more than {ai_json.MAX_SCHEMA_CHARS} characters" in refused.value.message
        assert "at most 65536" in refused.value.message

    asyncio.run(check())
    assert serialised == [], "the schema was serialised before it was refused"
