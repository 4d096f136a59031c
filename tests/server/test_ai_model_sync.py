"""The AI model catalogue's background sync: with several servers on one MariaDB database,
exactly one of them asks the provider for its model list per interval.

Three ``AiService`` / ``AiCatalogue`` instances, each with its own store engine and its own
sync lock (``GET_LOCK`` on a connection of its own, as ``ai_traits.ai_settings`` makes it for
a server), share one scratch database and the OpenRouter stand-in."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import require_service
from tests.scheduler.servers import scratch_database
from tests.standins import KEY, OpenRouterStandIn
from tests.standins.fixtures import openrouter_fixture  # noqa: F401  (the fixture)
from workscript_jupyter.integrations.openrouter import OpenRouterClient
from workscript_jupyter.integrations.openrouter_types import AIConfig
from workscript_jupyter.server.ai_traits import AiTraits, ai_settings
from workscript_jupyter.service.ai import AiService
from workscript_jupyter.service.ai_catalogue import AiCatalogue
from workscript_jupyter.store import migrate
from workscript_jupyter.store.sql import SqlStore

SERVERS = 3


@pytest.fixture(scope="module")
def _migrated() -> Iterator[str]:
    """One scratch database for the module (migrating one takes seconds)."""
    require_service("MariaDB/MySQL", os.environ.get("DB_HOST", "127.0.0.1"), 3306)
    root = (
        f"mysql+pymysql://{os.environ.get('DB_USER', 'root')}:{os.environ.get('DB_PASSWORD', '')}"
        f"@{os.environ.get('DB_HOST', '127.0.0.1')}:{os.environ.get('DB_PORT', '3306')}"
        f"/{os.environ.get('DB_NAME', 'test')}?charset=utf8mb4"
    )
    with scratch_database(root) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def database(mysql_url: str, _migrated: str) -> str:
    """The module's database with an empty catalogue."""
    engine = sa.create_engine(_migrated)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM ai_models"))
    engine.dispose()
    return _migrated


@pytest.fixture
def stores(database: str) -> Iterator[list[SqlStore]]:
    opened = [SqlStore.from_url(database) for _ in range(SERVERS)]
    yield opened
    for store in opened:
        store.close()


def _model_lists(stand_in: OpenRouterStandIn) -> int:
    return sum(1 for r in stand_in.requests if r["path"].endswith("/models"))


def _traits(stand_in: OpenRouterStandIn, **values: Any) -> AiTraits:
    traits = AiTraits()
    traits.openrouter_api_key = KEY
    traits.openrouter_base_url = stand_in.base_url
    traits.ai_model_sync_interval = 3600.0
    for name, value in values.items():
        setattr(traits, name, value)
    return traits


def test_three_servers_starting_at_once_list_the_models_once(
    stores: list[SqlStore], database: str, openrouter: OpenRouterStandIn
) -> None:
    """Each server's own service, started together; each checks several times."""
    openrouter.reset()
    settings = ai_settings(_traits(openrouter), db_url=database, redis_url=None, lock_dir=None)
    services = [AiService(store, settings) for store in stores]
    for service in services:
        service.catalogue.check_seconds = 0.05  # many checks in a short test

    async def main() -> None:
        for service in services:
            service.start()
        try:
            for _ in range(400):
                if all(len(s.catalogue.outcomes) >= 4 for s in services):
                    break
                await asyncio.sleep(0.025)
        finally:
            for service in services:
                await service.stop()

    asyncio.run(main())
    outcomes = [s.catalogue.outcomes for s in services]
    assert all(len(o) >= 4 for o in outcomes), outcomes
    assert sum(o.count("synced") for o in outcomes) == 1, outcomes
    assert all("failed" not in o for o in outcomes), outcomes
    assert _model_lists(openrouter) == 1
    active = stores[0].ai.list_models()
    assert {m.id for m in active} == {"openai/gpt-4o", "anthropic/claude-3.5-sonnet",
                                      "meta-llama/llama-3.1-8b-instruct", "test/echo"}  # fmt: skip


def _slow_catalogues(
    stores: list[SqlStore], database: str, stand_in: OpenRouterStandIn, delay: float
) -> tuple[list[AiCatalogue], list[OpenRouterClient]]:
    """Catalogues whose provider takes ``delay`` seconds to list its models: the first
    server is still syncing when the others check."""
    settings = ai_settings(_traits(stand_in), db_url=database, redis_url=None, lock_dir=None)
    assert settings.sync_lock is not None
    clients = [OpenRouterClient(AIConfig(api_key=KEY, base_url=stand_in.base_url))]
    client = clients[0]

    async def slow_models() -> list[dict[str, Any]]:
        models = await client.models()
        await asyncio.sleep(delay)
        return models

    catalogues = [
        AiCatalogue(store, slow_models, lock=settings.sync_lock(), interval_seconds=3600)
        for store in stores
    ]
    return catalogues, clients


def test_a_server_that_finds_the_lock_taken_leaves_the_sync_to_its_holder(
    stores: list[SqlStore], database: str, openrouter: OpenRouterStandIn
) -> None:
    openrouter.reset()
    catalogues, clients = _slow_catalogues(stores, database, openrouter, delay=0.3)

    async def main() -> list[str]:
        try:
            first = await asyncio.gather(*(c.sync_if_due() for c in catalogues))
            later = await asyncio.gather(*(c.sync_if_due() for c in catalogues))
            return list(first) + list(later)
        finally:
            for catalogue in catalogues:
                await catalogue.stop()
            for client in clients:
                await client.aclose()

    outcomes = asyncio.run(main())
    assert sorted(outcomes[:SERVERS]) == ["busy", "busy", "synced"]
    assert outcomes[SERVERS:] == ["fresh"] * SERVERS
    assert _model_lists(openrouter) == 1


def test_a_server_that_gets_the_lock_just_after_a_sync_does_not_sync_again(
    stores: list[SqlStore], database: str, openrouter: OpenRouterStandIn
) -> None:
    """Server B found the catalogue stale, then got the lock only once A had synced and
    released it: B reads the catalogue's age again inside the lock and does nothing."""
    openrouter.reset()
    (first, second, _), clients = _slow_catalogues(stores, database, openrouter, delay=0.0)
    lock = second._lock
    assert lock is not None
    real_try = lock.try_acquire

    async def late_try() -> bool:
        assert await first.sync_if_due() == "synced"  # A syncs between B's two checks
        return await real_try()

    lock.try_acquire = late_try  # type: ignore[method-assign]

    async def main() -> str:
        try:
            return await second.sync_if_due()
        finally:
            for catalogue in (first, second):
                await catalogue.stop()
            for client in clients:
                await client.aclose()

    assert asyncio.run(main()) == "fresh"
    assert _model_lists(openrouter) == 1


def test_a_stale_catalogue_is_synced_again_and_missing_models_go_inactive(
    stores: list[SqlStore], database: str, openrouter: OpenRouterStandIn
) -> None:
    from dataclasses import replace
    from datetime import timedelta

    openrouter.reset()
    store = stores[0]
    catalogues, clients = _slow_catalogues(stores, database, openrouter, delay=0.0)

    async def main() -> list[str]:
        try:
            outcomes = [await catalogues[0].sync_if_due()]
            # an interval later (the rows made older), and a model the provider dropped since
            old = [
                replace(m, updated_at=m.updated_at - timedelta(hours=2))
                for m in store.ai.list_models()
            ]
            gone = replace(old[0], id="gone/model", name="gone")
            store.ai.upsert_models([*old, gone])
            outcomes.append(await catalogues[1].sync_if_due())
            return outcomes
        finally:
            for catalogue in catalogues:
                await catalogue.stop()
            for client in clients:
                await client.aclose()

    assert asyncio.run(main()) == ["synced", "synced"]
    assert _model_lists(openrouter) == 2
    dropped = store.ai.get_model("gone/model")
    assert dropped is not None and not dropped.is_active
    assert "gone/model" not in {m.id for m in store.ai.list_models()}
