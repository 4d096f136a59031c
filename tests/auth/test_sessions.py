"""auth/sessions.py: sessions in a real Redis and in the store (memory, SQLite, MariaDB): create,
get, expire, revoke, revoke every session of a user, and survive a new client or store."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.auth.conftest import Clock
from workscript_jupyter.auth.sessions import RedisSessions, SessionInfo, StoreSessions
from workscript_jupyter.errors import ConfigurationError
from workscript_jupyter.store.base import Store

T0 = 1_700_000_000.0
DAY = 86400


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# -- Redis ---------------------------------------------------------------------------------------


@asynccontextmanager
async def redis_client(url: str) -> AsyncIterator[Any]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.mark.redis
def test_a_redis_session_is_created_read_and_survives_a_new_client(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> SessionInfo:
        async with redis_client(redis_url) as client:
            sessions = RedisSessions(client, prefix=redis_prefix)
            created = await sessions.create("user-1", ttl_seconds=DAY, user_agent="ua", ip="::1")
            assert len(created.id) >= 43
            assert await sessions.get(created.id) == created
            # the id never appears in a Redis key: only its digest does
            keys = [k.decode() async for k in client.scan_iter(match=redis_prefix + "*")]
            assert len(keys) == 2 and not any(created.id in k for k in keys)
            ttl = await client.ttl(next(k for k in keys if ":s:" in k))
            assert DAY - 5 < ttl <= DAY
            return created

    created = asyncio.run(main())
    assert created.user_id == "user-1"
    assert created.id not in repr(created)

    async def after_restart() -> None:  # a new process: a new loop, a new client
        async with redis_client(redis_url) as client:
            assert await RedisSessions(client, prefix=redis_prefix).get(created.id) == created

    asyncio.run(after_restart())


@pytest.mark.redis
def test_a_redis_session_expires(redis_url: str, redis_prefix: str) -> None:
    clock = Clock(T0)

    async def main() -> None:
        async with redis_client(redis_url) as client:
            sessions = RedisSessions(client, prefix=redis_prefix, clock=clock)
            short = await sessions.create("user-1", ttl_seconds=60)
            assert short.expires_at == at(T0 + 60)
            clock.now = T0 + 59.9
            assert await sessions.get(short.id) is not None
            clock.now = T0 + 60
            assert await sessions.get(short.id) is None
            # and Redis forgets it by itself: a real one-second session, waited out
            real = RedisSessions(client, prefix=redis_prefix)
            brief = await real.create("user-1", ttl_seconds=1)
            assert await real.get(brief.id) is not None
            await asyncio.sleep(1.2)
            assert await real.get(brief.id) is None
            keys = [k async for k in client.scan_iter(match=redis_prefix + "s:*")]
            assert len(keys) == 1  # only the clock-driven one, whose real TTL is 60 s

    asyncio.run(main())


@pytest.mark.redis
def test_redis_revoke_and_revoke_user(redis_url: str, redis_prefix: str) -> None:
    async def main() -> None:
        async with redis_client(redis_url) as client:
            sessions = RedisSessions(client, prefix=redis_prefix)
            one = await sessions.create("alice", ttl_seconds=DAY)
            two = await sessions.create("alice", ttl_seconds=DAY)
            three = await sessions.create("alice", ttl_seconds=DAY)
            bob = await sessions.create("bob", ttl_seconds=DAY)
            await sessions.revoke(one.id)
            await sessions.revoke(one.id)  # twice: no error
            assert await sessions.get(one.id) is None
            assert await sessions.get(two.id) is not None
            assert await client.scard(redis_prefix + "u:alice") == 2  # one left alice's set
            assert await sessions.revoke_user("alice") == 2
            assert await sessions.get(two.id) is None
            assert await sessions.get(three.id) is None
            assert await sessions.get(bob.id) == bob
            assert await sessions.revoke_user("alice") == 0
            assert await sessions.revoke_user("nobody") == 0
            # what is left: bob's session and his set
            keys = [k async for k in client.scan_iter(match=redis_prefix + "*")]
            assert len(keys) == 2

    asyncio.run(main())


@pytest.mark.redis
def test_redis_answers_none_for_unknown_and_malformed_ids(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> None:
        async with redis_client(redis_url) as client:
            sessions = RedisSessions(client, prefix=redis_prefix)
            await sessions.create("alice", ttl_seconds=DAY)
            for bad in [secrets.token_urlsafe(32), "", "u:alice", "*", "x" * 500, "a b"]:
                assert await sessions.get(bad) is None
                await sessions.revoke(bad)  # no error, nothing touched
            with pytest.raises(ConfigurationError):
                await sessions.create("alice", ttl_seconds=0)

    asyncio.run(main())


# -- the store -----------------------------------------------------------------------------------


@pytest.fixture
def store(stores: list[Store]) -> Store:
    return stores[0]


def make_user(store: Store, name: str) -> str:
    return store.users.create(name, email=f"{name}@example.org").id


def test_a_store_session_is_created_read_expires_and_survives_a_new_store(
    stores: list[Store],
) -> None:
    store = stores[0]
    alice = make_user(store, "alice")
    clock = Clock(T0)
    sessions = StoreSessions(store, clock=clock)

    async def main() -> None:
        created = await sessions.create(alice, ttl_seconds=60, user_agent="ua", ip="10.0.0.1")
        assert created.expires_at == at(T0 + 60)
        assert await sessions.get(created.id) == created
        row = store.credentials.get_session(created.id)
        assert row is not None and (row.user_agent, row.ip) == ("ua", "10.0.0.1")
        # another server (or this one restarted) on the same database sees it
        assert await StoreSessions(stores[-1], clock=clock).get(created.id) == created
        clock.now = T0 + 59.5
        assert await sessions.get(created.id) == created
        clock.now = T0 + 60
        assert await sessions.get(created.id) is None

    asyncio.run(main())


def test_store_revoke_and_revoke_user(store: Store) -> None:
    alice, bob = make_user(store, "alice"), make_user(store, "bob")
    sessions = StoreSessions(store)

    async def main() -> None:
        one = await sessions.create(alice, ttl_seconds=DAY)
        two = await sessions.create(alice, ttl_seconds=DAY)
        three = await sessions.create(alice, ttl_seconds=DAY)
        bobs = await sessions.create(bob, ttl_seconds=DAY)
        await sessions.revoke(one.id)
        await sessions.revoke(one.id)  # twice: no error
        await sessions.revoke(secrets.token_hex(16))  # unknown: no error
        assert await sessions.get(one.id) is None
        assert await sessions.get(two.id) == two
        assert await sessions.revoke_user(alice) == 2  # one was revoked already
        assert await sessions.get(two.id) is None
        assert await sessions.get(three.id) is None
        assert await sessions.get(bobs.id) == bobs
        assert await sessions.revoke_user(alice) == 0

    asyncio.run(main())


def test_store_answers_none_for_unknown_and_malformed_ids(store: Store) -> None:
    sessions = StoreSessions(store)

    async def main() -> None:
        for bad in [secrets.token_hex(16), "", "x" * 500, "' OR 1=1 --"]:
            assert await sessions.get(bad) is None
        with pytest.raises(ConfigurationError):
            await sessions.create(make_user(store, "carol"), ttl_seconds=0)

    asyncio.run(main())
