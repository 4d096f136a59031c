"""AI usage on the server: cost from the catalogue, one row per completion billed to the run's
owner, the monthly budget (refused before any request; the month boundary), unknown models.

``AiService`` on a ``MemoryStore``, talking over HTTP to the OpenRouter stand-in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.standins import KEY, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.errors import (
    AIBudgetExceededError,
    AIMissingKeyError,
    PermissionDeniedError,
)
from workscript_jupyter.integrations.openrouter_types import AIConfig
from workscript_jupyter.service.ai import AiService, AiSettings
from workscript_jupyter.service.ai_catalogue import model_from
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore

GPT4O = "openai/gpt-4o"  # the stand-in's price: 0.0000025 per prompt, 0.00001 per completion
MESSAGES = [{"role": "user", "content": "hi"}]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> Store:
    return MemoryStore()


def _caller(store: Store, name: str, **fields: Any) -> Caller:
    return Caller.of(store.users.create(name, **fields))


def _service(
    store: Store, stand_in: OpenRouterStandIn, *, budget: float = 0.0, clock: Any = None
) -> AiService:
    config = AIConfig(api_key=KEY, base_url=stand_in.base_url, max_retries=0)
    settings = AiSettings(config=config, model_sync_interval=0, monthly_budget_usd=budget)
    return AiService(store, settings, **({"clock": clock} if clock else {}))


def _run(service: AiService, body: Callable[[], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        try:
            return await body()
        finally:
            await service.stop()

    return asyncio.run(main())


def _completions(stand_in: OpenRouterStandIn) -> int:
    return sum(1 for r in stand_in.requests if r["path"].endswith("/chat/completions"))


# -- cost and rows ------------------------------------------------------------------------------


def test_a_completion_costs_its_tokens_at_the_catalogue_price_and_is_billed_to_the_owner(
    store: Store, openrouter: OpenRouterStandIn
) -> None:
    openrouter.reset()
    alice, bob = _caller(store, "alice"), _caller(store, "bob")
    service = _service(store, openrouter)

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        await service.sync_models(Caller.of(store.users.create("root", roles=("admin",))))
        gateway = service.gateway_for(alice)
        assert gateway is not None
        first = await gateway.chat(
            model=GPT4O,
            messages=MESSAGES,
            options={},
            execution_id="e" * 32,
            workflow_id="digest",
            node_path="/workflow/1",
        )
        second = await service.gateway_for(bob).chat(  # type: ignore[union-attr]
            model=GPT4O, messages=MESSAGES, options={}
        )
        return first, second

    first, second = _run(service, body)
    expected = 7 * 0.0000025 + 3 * 0.00001  # the stand-in's usage: 7 prompt, 3 completion
    assert first["cost"] == pytest.approx(expected) and first["content"] == "echo: hi"
    assert second["cost"] == pytest.approx(expected)
    (row,) = store.ai.list_usage(alice.scope).items
    assert (row.owner_id, row.model, row.prompt_tokens, row.completion_tokens) == (
        alice.user_id,
        GPT4O,
        7,
        3,
    )
    assert (row.execution_id, row.workflow_id, row.node_path) == ("e" * 32, "digest", "/workflow/1")
    assert row.cost == pytest.approx(expected) and row.duration_ms is not None
    (bobs,) = store.ai.list_usage(bob.scope).items
    assert bobs.owner_id == bob.user_id and bobs.execution_id is None


def test_an_unknown_model_costs_nothing_and_is_logged_once(
    store: Store, openrouter: OpenRouterStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    alice = _caller(store, "alice")
    service = _service(store, openrouter)  # the catalogue is empty: nothing is priced

    async def body() -> list[dict[str, Any]]:
        gateway = service.gateway_for(alice)
        assert gateway is not None
        return [
            await gateway.chat(model="vendor/unlisted", messages=MESSAGES, options={})
            for _ in range(3)
        ]

    with caplog.at_level(logging.WARNING, logger="workscript_jupyter.service.ai_usage"):
        answers = _run(service, body)
    assert [a["cost"] for a in answers] == [0.0, 0.0, 0.0]
    warnings = [r for r in caplog.records if "no price for model 'vendor/unlisted'" in r.message]
    assert len(warnings) == 1
    rows = store.ai.list_usage(alice.scope).items
    assert len(rows) == 3 and {r.cost for r in rows} == {0.0}


# -- the budget ---------------------------------------------------------------------------------


def test_a_spent_budget_refuses_before_any_request(
    store: Store, openrouter: OpenRouterStandIn
) -> None:
    openrouter.reset()
    alice, bob = _caller(store, "alice"), _caller(store, "bob")
    clock = Clock(datetime(2024, 8, 20, 12, 0, tzinfo=UTC))
    service = _service(store, openrouter, budget=1.0, clock=clock)
    store.ai.add_usage(alice.scope, model=GPT4O, prompt_tokens=1, completion_tokens=1,
                       cost=1.0, created_at=datetime(2024, 8, 1, tzinfo=UTC))  # fmt: skip

    async def body() -> Any:
        gateway = service.gateway_for(alice)
        assert gateway is not None
        with pytest.raises(AIBudgetExceededError) as refused:
            await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
        # bob's own month is untouched
        await service.gateway_for(bob).chat(  # type: ignore[union-attr]
            model=GPT4O, messages=MESSAGES, options={}
        )
        return refused.value, await service.budget_of(alice)

    error, status = _run(service, body)
    assert _completions(openrouter) == 1  # bob's: alice's call never left the server
    assert error.code == "BUDGET_EXCEEDED" and error.http_status == 429
    assert "$1.00" in error.message and "2024-09-01T00:00:00Z" in error.message
    assert error.retry_after == pytest.approx(11.5 * 86_400)
    assert error.details == {"budget": 1.0, "spent": 1.0, "resetsAt": "2024-09-01T00:00:00Z"}
    assert (status.budget, status.spent, status.remaining) == (1.0, 1.0, 0.0)
    assert len(store.ai.list_usage(alice.scope).items) == 1  # no row for a refused call


def test_the_budget_resets_on_the_first_of_the_month_utc(
    store: Store, openrouter: OpenRouterStandIn
) -> None:
    alice = _caller(store, "alice")
    clock = Clock(datetime(2024, 8, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    service = _service(store, openrouter, budget=0.5, clock=clock)
    store.ai.add_usage(alice.scope, model=GPT4O, prompt_tokens=1, completion_tokens=1,
                       cost=0.5, created_at=datetime(2024, 8, 31, 23, 0, tzinfo=UTC))  # fmt: skip

    async def body() -> dict[str, Any]:
        gateway = service.gateway_for(alice)
        assert gateway is not None
        with pytest.raises(AIBudgetExceededError):
            await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
        clock.now = datetime(2024, 9, 1, 0, 0, tzinfo=UTC)  # a new month: August's spend is past
        status = await service.budget_of(alice)
        assert (status.spent, status.remaining) == (0.0, 0.5)
        return await gateway.chat(model=GPT4O, messages=MESSAGES, options={})

    assert _run(service, body)["content"] == "echo: hi"


def test_without_a_budget_nothing_is_refused(store: Store, openrouter: OpenRouterStandIn) -> None:
    alice = _caller(store, "alice")
    service = _service(store, openrouter)
    store.ai.add_usage(alice.scope, model=GPT4O, prompt_tokens=1, completion_tokens=1, cost=1e6)

    async def body() -> Any:
        status = await service.budget_of(alice)
        assert (status.budget, status.remaining) == (None, None) and status.spent == 1e6
        return await service.gateway_for(alice).chat(  # type: ignore[union-attr]
            model=GPT4O, messages=MESSAGES, options={}
        )

    assert _run(service, body)["content"] == "echo: hi"


# -- who may spend ------------------------------------------------------------------------------


def test_a_key_without_ai_use_may_not_spend_its_owners_money(
    store: Store, openrouter: OpenRouterStandIn
) -> None:
    openrouter.reset()
    user = store.users.create("alice")
    key_caller = Caller.of_key(user, "k" * 32, ["workflow:execute"])
    service = _service(store, openrouter)

    async def body() -> None:
        gateway = service.gateway_for(key_caller)
        assert gateway is not None
        with pytest.raises(PermissionDeniedError, match="ai:use"):
            await gateway.chat(model=GPT4O, messages=MESSAGES, options={})

    _run(service, body)
    assert _completions(openrouter) == 0


def test_without_a_key_there_is_no_gateway_and_no_sync(store: Store) -> None:
    service = AiService(store, AiSettings())
    admin = Caller.of(store.users.create("root", roles=("admin",)))

    async def body() -> None:
        assert service.gateway_for(admin) is None and not service.configured
        with pytest.raises(AIMissingKeyError):
            await service.sync_models(admin)
        page = await service.list_models(admin)  # the table is still readable
        assert page.models == () and page.last_synced_at is None

    _run(service, body)


# -- reading the provider's list ----------------------------------------------------------------


def test_model_entries_become_catalogue_rows() -> None:
    now = datetime(2024, 8, 1, tzinfo=UTC)
    model = model_from(
        {
            "id": "Anthropic/claude-3.5",
            "name": "Claude",
            "context_length": 200_000,
            "architecture": {"modality": "text+image->text"},
            "pricing": {"prompt": "0.000003", "completion": "0.000015", "request": "0"},
            "top_provider": {"max_completion_tokens": 8192},
        },
        now,
    )
    assert model is not None
    assert (model.provider, model.context_length, model.max_completion_tokens) == (
        "anthropic",
        200_000,
        8192,
    )
    assert (model.input_modalities, model.output_modalities) == (["text", "image"], ["text"])
    assert (model.prompt_price, model.completion_price) == (3e-6, 15e-6)
    assert model.updated_at == now and model.is_active
    router = model_from({"id": "openrouter/auto", "pricing": {"prompt": "-1"}}, now)
    assert router is not None and router.prompt_price is None and router.name == "openrouter/auto"
    assert model_from({"id": "plain"}, now).provider == "openrouter"  # type: ignore[union-attr]
    for junk in ({"name": "no id"}, {"id": ""}, {"id": "x" * 201}, "not a dict", None):
        assert model_from(junk, now) is None


def test_an_empty_provider_list_leaves_the_catalogue_alone(store: Store) -> None:
    from workscript_jupyter.errors import AIProviderError
    from workscript_jupyter.service.ai_catalogue import AiCatalogue

    now = datetime(2024, 8, 1, tzinfo=UTC)
    lists: list[list[dict[str, Any]]] = [[{"id": "a/one"}, {"id": "b/two"}], []]

    async def listed() -> list[dict[str, Any]]:
        return lists.pop(0)

    catalogue = AiCatalogue(store, listed, interval_seconds=0, clock=lambda: now)

    async def body() -> None:
        report = await catalogue.sync()
        assert (report.models, report.skipped) == (2, 0)
        with pytest.raises(AIProviderError, match="no models"):
            await catalogue.sync()

    asyncio.run(body())
    assert [m.id for m in store.ai.list_models()] == ["a/one", "b/two"]
    assert store.ai.last_synced_at() == now
    assert store.ai.get_model("a/one").is_active  # type: ignore[union-attr]
