"""The AI routes through a real Jupyter server, against the OpenRouter stand-in: the model
catalogue with its filters and paging, the admins' sync, usage per owner and for admins, the
budget, refusals (400/403/503), and ask-ai runs that write usage rows and stream their text
over the WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from itertools import count, pairwise
from typing import Any

import pytest

from tests.standins import KEY, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.store.records import Scope

from .conftest import Api, document, server_config
from .identity import TwoUsersIdentityProvider, auth

GPT4O = "openai/gpt-4o"
COST = 7 * 0.0000025 + 3 * 0.00001  # the stand-in's usage (7 + 3 tokens) at gpt-4o's prices
ALL_MODELS = [
    "anthropic/claude-3.5-sonnet",
    "meta-llama/llama-3.1-8b-instruct",
    "openai/gpt-4o",
    "test/echo",
]


def ai_config(db_url: str, stand_in: OpenRouterStandIn, **extra: Any) -> dict[str, Any]:
    traits = {
        "openrouter_api_key": KEY,
        "openrouter_base_url": stand_in.base_url,
        "ai_model_sync_interval": 0,  # the tests sync on demand
        **extra,
    }
    return server_config(db_url, **traits)


def ask(model: str = GPT4O, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    step = {"userPrompt": "hi", "model": model, "stream": stream, **extra}
    step["error?"] = {"$.failed": "$._edgeContext"}
    return {"ask-ai": step}


async def run_and_wait(api: Api, *steps: Any) -> dict[str, Any]:
    definition = document(*steps, id=f"ai-flow-{next(_SAVED)}")  # each run its own workflow
    saved = await api.post("workflows", json_body={"definition": definition})
    assert saved.code == 201, saved.raw
    reply = await api.post("workflows", saved.body["id"], "run", params={"wait": 20})
    assert reply.code == 200, reply.raw
    return dict(reply.body)


_SAVED = count(1)


def ids(reply: Any) -> list[str]:
    return [m["id"] for m in reply.body["items"]]


# -- a single-user server (its owner is an admin) -----------------------------------------------


class TestCatalogue:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, openrouter):
        return ai_config(workscript_db_url, openrouter)

    async def test_sync_then_list_and_filter(self, api: Api, openrouter: OpenRouterStandIn):
        empty = await api.get("ai", "models")
        assert empty.code == 200 and empty.body["items"] == []
        assert empty.body["configured"] is True and empty.body["lastSyncedAt"] is None

        synced = await api.post("ai", "models", "sync")
        assert synced.code == 200, synced.raw
        assert (synced.body["models"], synced.body["skipped"]) == (4, 0)

        listed = await api.get("ai", "models")
        assert ids(listed) == ALL_MODELS and listed.body["nextCursor"] is None
        assert listed.body["lastSyncedAt"] == synced.body["syncedAt"]
        gpt = next(m for m in listed.body["items"] if m["id"] == GPT4O)
        assert gpt["provider"] == "openai" and gpt["contextLength"] == 128_000
        assert (gpt["promptPricePerMillion"], gpt["completionPricePerMillion"]) == (2.5, 10.0)
        assert gpt["inputModalities"] == ["text", "image", "file"] and gpt["isActive"]

        async def filtered(**params: Any) -> list[str]:
            reply = await api.get("ai", "models", params=params)
            assert reply.code == 200, reply.raw
            return ids(reply)

        assert await filtered(provider="OpenAI") == [GPT4O]
        assert await filtered(modality="image") == ["anthropic/claude-3.5-sonnet", GPT4O]
        assert await filtered(minContextLength=130_000) == [
            "anthropic/claude-3.5-sonnet",
            "meta-llama/llama-3.1-8b-instruct",
        ]
        # USD per million prompt tokens: llama is $0.02, the echo model free
        assert await filtered(maxPrice=1) == ["meta-llama/llama-3.1-8b-instruct", "test/echo"]
        assert await filtered(maxPrice=2.5, modality="image") == [GPT4O]

        first = await api.get("ai", "models", params={"limit": 3})
        assert ids(first) == ALL_MODELS[:3] and first.body["nextCursor"] == ALL_MODELS[2]
        rest = await api.get("ai", "models", params={"limit": 3, "cursor": ALL_MODELS[2]})
        assert ids(rest) == ALL_MODELS[3:] and rest.body["nextCursor"] is None

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"maxPrice": "cheap"}, "maxPrice"),
            ({"maxPrice": "-1"}, "maxPrice"),
            ({"maxPrice": "nan"}, "maxPrice"),
            ({"minContextLength": "-5"}, "minContextLength"),
            ({"minContextLength": "lots"}, "minContextLength"),
            ({"includeInactive": "maybe"}, "includeInactive"),
            ({"modality": "%' OR 1=1"}, "modality"),
            ({"provider": "x" * 51}, "provider"),
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
        ],
    )
    async def test_bad_filters_are_400_naming_the_parameter(self, api: Api, params, field):
        reply = await api.get("ai", "models", params=params)
        assert reply.code == 400, reply.raw
        assert reply.error["code"] == "BAD_REQUEST" and field in reply.error["message"]

    async def test_an_ask_ai_run_writes_one_usage_row_with_its_run_and_node(
        self, api: Api, workscript: dict[str, Any]
    ):
        assert (await api.post("ai", "models", "sync")).code == 200
        run = await run_and_wait(api, {"$.before": 1}, ask())
        assert run["status"] == "completed", run
        assert run["finalState"]["aiResponse"] == "echo: hi"
        assert run["finalState"]["aiResponseData"]["usage"]["cost"] == pytest.approx(COST)

        store = workscript["store"]
        (row,) = store.ai.list_usage(Scope("any", is_admin=True)).items
        saved = await api.get("workflows", run["workflowId"])
        # the workflow as the engine knows it: its definition's id (a kernel run has no record)
        assert row.execution_id == run["id"] and row.workflow_id == saved.body["definition"]["id"]
        assert row.node_path == "/workflow/1/ask-ai" and row.model == GPT4O
        assert (row.prompt_tokens, row.completion_tokens) == (7, 3)
        assert row.cost == pytest.approx(COST) and row.duration_ms is not None

        usage = await api.get("ai", "usage")
        assert usage.code == 200, usage.raw
        (group,) = usage.body["items"]
        assert (group["key"], group["requests"], group["totalTokens"]) == (GPT4O, 1, 10)
        assert usage.body["totals"]["cost"] == pytest.approx(COST)
        by_day = await api.get("ai", "usage", params={"by": "day"})
        assert [g["key"] for g in by_day.body["items"]] == [row.created_at.date().isoformat()]

    @pytest.mark.parametrize(
        "params",
        [
            {"by": "week"},
            {"from": "yesterday"},
            {"from": "2024-08-02", "to": "2024-08-01"},
            {"from": "2023-01-01", "to": "2024-08-01"},
        ],
    )
    async def test_bad_usage_queries_are_400(self, api: Api, params):
        reply = await api.get("ai", "usage", params=params)
        assert reply.code == 400, reply.raw

    async def test_usage_periods_take_dates_and_times(self, api: Api):
        day = await api.get("ai", "usage", params={"from": "2024-08-01", "to": "2024-08-01"})
        assert day.code == 200, day.raw
        assert (day.body["from"], day.body["to"]) == (
            "2024-08-01T00:00:00.000Z",
            "2024-08-02T00:00:00.000Z",
        )
        window = {"from": "2024-08-01T10:00:00+02:00", "to": "2024-08-01T12:00:00"}
        timed = await api.get("ai", "usage", params=window)
        assert (timed.body["from"], timed.body["to"]) == (
            "2024-08-01T08:00:00.000Z",
            "2024-08-01T12:00:00.000Z",
        )

    async def test_a_streamed_answer_reaches_a_websocket_before_the_run_ends(
        self, api: Api, jp_ws_fetch: Any, openrouter: OpenRouterStandIn
    ):
        socket = await jp_ws_fetch("workscript", "ws")
        try:
            await socket.write_message(json.dumps({"type": "subscribe", "channel": "executions"}))
            assert json.loads(await socket.read_message())["type"] == "subscribed"
            saved = await api.post(
                "workflows",
                json_body={"definition": document(ask("test/slow-stream", stream=True))},
            )
            started = await api.post("workflows", saved.body["id"], "run")
            execution_id = started.body["id"]
            texts: list[str] = []
            deadline = time.monotonic() + 20
            while True:
                raw = await asyncio.wait_for(socket.read_message(), deadline - time.monotonic())
                message = json.loads(raw)
                if message["payload"].get("executionId") != execution_id:
                    continue
                if message["type"] == "node:progress":
                    texts.append(message["payload"]["text"])
                if message["type"].startswith("workflow:") and message["type"] != (
                    "workflow:started"
                ):
                    assert message["type"] == "workflow:completed", message
                    break
        finally:
            socket.close()
        answer = "The answer arrives slowly, piece by piece."
        assert len(texts) >= 2, texts  # seen growing, before the run's end
        assert all(b.startswith(a) and len(b) > len(a) for a, b in pairwise(texts)), texts
        # the hub coalesces a run's node events per 50 ms: the last growth may be folded
        # into node:completed, never shown out of order
        assert answer.startswith(texts[-1])
        done = await api.get("executions", execution_id)
        assert done.body["finalState"]["aiResponse"] == answer


class TestBudget:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, openrouter):
        # one gpt-4o answer (0.0000475 USD) spends it
        return ai_config(workscript_db_url, openrouter, ai_monthly_budget_usd=0.00004)

    async def test_the_call_after_the_budget_is_spent_takes_the_error_edge(
        self, api: Api, openrouter: OpenRouterStandIn
    ):
        assert (await api.post("ai", "models", "sync")).code == 200
        fresh = await api.get("ai", "usage", "budget")
        assert fresh.code == 200, fresh.raw
        assert fresh.body["enabled"] and fresh.body["spent"] == 0.0
        assert fresh.body["remaining"] == pytest.approx(0.00004)

        assert (await run_and_wait(api, ask()))["finalState"]["aiResponse"] == "echo: hi"
        openrouter.reset()
        refused = await run_and_wait(api, ask())
        failed = refused["finalState"]["failed"]
        assert failed["code"] == "BUDGET_EXCEEDED" and "resets at" in failed["error"]
        assert failed["retryAfter"] > 0
        assert openrouter.requests == []  # refused before any request

        spent = await api.get("ai", "usage", "budget")
        assert spent.body["spent"] == pytest.approx(COST) and spent.body["remaining"] == 0.0


class TestWithoutAKey:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url):
        return server_config(workscript_db_url, openrouter_api_key=None)

    async def test_the_catalogue_is_readable_and_a_sync_is_503(self, api: Api):
        listed = await api.get("ai", "models")
        assert listed.code == 200 and listed.body["configured"] is False
        sync = await api.post("ai", "models", "sync")
        assert sync.code == 503 and sync.error["code"] == "MISSING_API_KEY"
        assert (await api.get("ai", "usage")).code == 200
        run = await run_and_wait(api, ask())
        assert run["finalState"]["failed"]["code"] == "MISSING_API_KEY"


# -- a shared server: alice is an admin, bob is not ---------------------------------------------


class TestUsersAndAdmins:
    @pytest.fixture
    def jp_server_config(self, workscript_db_url, openrouter):
        config = ai_config(workscript_db_url, openrouter, single_user=False, admin_users=["alice"])
        config["ServerApp"]["identity_provider_class"] = TwoUsersIdentityProvider
        return config

    @pytest.fixture
    def alice(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("alice"))

    @pytest.fixture
    def bob(self, jp_fetch, workscript) -> Api:
        return Api(jp_fetch, auth("bob"))

    async def test_usage_is_per_owner_and_admins_see_everyone(self, alice: Api, bob: Api):
        refused = await bob.post("ai", "models", "sync")
        assert refused.code == 403 and refused.error["details"]["permission"] == "ai:manage"
        assert (await alice.post("ai", "models", "sync")).code == 200
        assert ids(await bob.get("ai", "models")) == ALL_MODELS  # everyone reads the catalogue

        await run_and_wait(alice, ask())
        await run_and_wait(bob, ask())
        await run_and_wait(bob, ask("test/echo"))

        own = await bob.get("ai", "usage", params={"by": "user"})
        (only,) = own.body["items"]
        assert (only["username"], only["requests"]) == ("bob", 2)
        bob_id = only["key"]
        everyone = await alice.get("ai", "usage", params={"by": "user"})
        assert {g["username"]: g["requests"] for g in everyone.body["items"]} == {
            "alice": 1,
            "bob": 2,
        }
        alice_id = next(g["key"] for g in everyone.body["items"] if g["username"] == "alice")
        one = await alice.get("ai", "usage", params={"userId": bob_id})
        assert one.body["userId"] == bob_id
        assert {g["key"]: g["requests"] for g in one.body["items"]} == {GPT4O: 1, "test/echo": 1}

        # bob may not look at alice's usage or budget: 403, never his own figures instead
        for path in (("ai", "usage"), ("ai", "usage", "budget")):
            peek = await bob.get(*path, params={"userId": alice_id})
            assert peek.code == 403 and peek.error["code"] == "FORBIDDEN", path
        assert (await bob.get("ai", "usage", params={"userId": bob_id})).code == 200
        budget = await alice.get("ai", "usage", "budget", params={"userId": bob_id})
        assert budget.body["userId"] == bob_id and budget.body["enabled"] is False
        assert budget.body["spent"] == pytest.approx(COST)
