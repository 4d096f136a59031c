"""The workflow read cache: fresh after this server's writes, scoped, bounded in time."""

from __future__ import annotations

import asyncio
import time

import pytest

from workscript_jupyter.errors import RecordNotFoundError
from workscript_jupyter.nodes import builtin_registry
from workscript_jupyter.service import WorkscriptService
from workscript_jupyter.service.cache import ReadCache
from workscript_jupyter.store.memory import MemoryStore
from workscript_jupyter.store.records import Scope

DOC = {"id": "w", "name": "W", "version": "1.0.0", "workflow": ["empty"]}


def service(ttl: float) -> WorkscriptService:
    return WorkscriptService(
        MemoryStore(), builtin_registry(plugins=False), single_user=False, read_cache_seconds=ttl
    )


def test_reads_come_from_the_cache_and_writes_refresh_it():
    svc = service(60)

    async def scenario() -> None:
        ada = await svc.identities.caller_for("ada")
        record = await svc.workflows.create_workflow(ada, DOC)
        calls = []
        real_get = svc.store.workflows.get
        svc.store.workflows.get = lambda *a, **k: calls.append(a) or real_get(*a, **k)  # type: ignore[method-assign]
        assert (await svc.workflows.get_workflow(ada, record.id)).name == "W"
        assert calls == []  # created here: cached already
        await svc.workflows.update_workflow(ada, record.id, {"name": "W2"})
        assert (await svc.workflows.get_workflow(ada, record.id)).name == "W2"
        await svc.workflows.delete_workflow(ada, record.id)
        with pytest.raises(RecordNotFoundError):
            await svc.workflows.get_workflow(ada, record.id)

    asyncio.run(scenario())


def test_a_cached_record_is_still_invisible_to_another_user():
    svc = service(60)

    async def scenario() -> None:
        ada, bob = await svc.identities.caller_for("ada"), await svc.identities.caller_for("bob")
        record = await svc.workflows.create_workflow(ada, DOC)
        await svc.workflows.get_workflow(ada, record.id)
        with pytest.raises(RecordNotFoundError):
            await svc.workflows.get_workflow(bob, record.id)

    asyncio.run(scenario())


def test_entries_expire_and_a_zero_ttl_caches_nothing():
    cache: ReadCache[str] = ReadCache(0.05)
    cache.put("a", "owner", "value")
    assert cache.get("a", Scope("owner")) == "value"
    assert cache.get("a", Scope("other")) is None
    assert cache.get("a", Scope("other", is_admin=True)) == "value"
    time.sleep(0.06)
    assert cache.get("a", Scope("owner")) is None
    off: ReadCache[str] = ReadCache(0)
    off.put("a", "owner", "value")
    assert off.get("a", Scope("owner")) is None
