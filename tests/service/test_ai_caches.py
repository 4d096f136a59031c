"""What keeps an ask-ai call off the database: the budget counts this process's spend as rows are
stored and reads the store again only every ``refresh_seconds``; prices are read once per
``ttl_seconds`` and forgotten when the catalogue is synced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.standins import OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.errors import AIBudgetExceededError
from workscript_jupyter.service.values import Caller
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore

from .test_ai_usage import GPT4O, MESSAGES, Clock, _caller, _run, _service

COST = 7 * 0.0000025 + 3 * 0.00001  # one stand-in answer at gpt-4o's price


class Counted:
    """Counts the calls of one method of the store's AI part (the real method still runs)."""

    def __init__(self, store: Store, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = getattr(store.ai, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(store.ai, name, counted)


@pytest.fixture
def store() -> Store:
    return MemoryStore()


def test_the_budget_counts_this_process_spend_without_reading_it_again(
    store: Store, openrouter: OpenRouterStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _caller(store, "alice")
    clock = Clock(datetime(2024, 8, 20, tzinfo=UTC))
    service = _service(store, openrouter, budget=COST * 2.5, clock=clock)
    reads = Counted(store, "spent_since", monkeypatch)

    async def body() -> list[Any]:
        await service.sync_models(Caller.of(store.users.create("root", roles=("admin",))))
        gateway = service.gateway_for(alice)
        assert gateway is not None
        outcomes: list[Any] = []
        for _ in range(4):
            try:
                outcomes.append(
                    (await gateway.chat(model=GPT4O, messages=MESSAGES, options={}))["cost"]
                )
            except AIBudgetExceededError as refused:
                outcomes.append(refused.code)
        return outcomes

    outcomes = _run(service, body)
    assert outcomes == [pytest.approx(COST)] * 3 + ["BUDGET_EXCEEDED"]
    assert reads.calls == 1, "one read of the month's spend, then this process's own count"


def test_what_other_servers_spend_is_seen_once_the_spend_is_read_again(
    store: Store, openrouter: OpenRouterStandIn
) -> None:
    alice = _caller(store, "alice")
    clock = Clock(datetime(2024, 8, 20, tzinfo=UTC))
    service = _service(store, openrouter, budget=1.0, clock=clock)

    async def body() -> list[str]:
        await service.sync_models(Caller.of(store.users.create("root", roles=("admin",))))
        gateway = service.gateway_for(alice)
        assert gateway is not None
        outcomes = []
        await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
        outcomes.append("answered")
        # another server bills alice a whole budget
        store.ai.add_usage(alice.scope, model=GPT4O, prompt_tokens=1, completion_tokens=1,
                           cost=1.0, created_at=clock.now)  # fmt: skip
        await gateway.chat(model=GPT4O, messages=MESSAGES, options={})  # within refresh_seconds
        outcomes.append("answered")
        service.budget.refresh_seconds = 0.0  # the spend is read again at the next check
        try:
            await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
            outcomes.append("answered")
        except AIBudgetExceededError:
            outcomes.append("refused")
        return outcomes

    assert _run(service, body) == ["answered", "answered", "refused"]


def test_prices_are_read_once_and_forgotten_when_the_catalogue_is_synced(
    store: Store, openrouter: OpenRouterStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = _caller(store, "alice")
    root = Caller.of(store.users.create("root", roles=("admin",)))
    service = _service(store, openrouter)
    reads = Counted(store, "get_model", monkeypatch)

    async def body() -> list[int]:
        await service.sync_models(root)
        gateway = service.gateway_for(alice)
        assert gateway is not None
        seen = []
        for _ in range(3):
            await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
            seen.append(reads.calls)
        await service.sync_models(root)
        await gateway.chat(model=GPT4O, messages=MESSAGES, options={})
        seen.append(reads.calls)
        return seen

    assert _run(service, body) == [1, 1, 1, 2]
