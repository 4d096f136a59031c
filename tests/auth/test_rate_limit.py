"""auth/rate_limit.py: the sliding window in a real Redis and the database fallback on every
store backend (memory, SQLite, MariaDB), shared by two servers, under concurrency."""

from __future__ import annotations

import asyncio
import math
import socket
from typing import Any

import pytest

from tests.auth.conftest import Clock, redis_clients
from workscript_jupyter.auth.rate_limit import (
    RateDecision,
    RedisRateLimiter,
    StoreRateLimiter,
)
from workscript_jupyter.errors import (
    ConfigurationError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from workscript_jupyter.store.base import Store
from workscript_jupyter.store.memory import MemoryStore

HOUR = 3600
T0 = 1_700_000_000.0


# -- RateDecision --------------------------------------------------------------------------------


def test_a_decision_gives_the_headers_and_raises_only_when_refused() -> None:
    allowed = RateDecision(True, 20, 7, reset_at=T0 + 0.2, retry_after=0.0, window_seconds=HOUR)
    assert allowed.headers() == {
        "X-RateLimit-Limit": "20",
        "X-RateLimit-Remaining": "7",
        "X-RateLimit-Reset": str(math.ceil(T0 + 0.2)),
    }
    allowed.raise_if_refused("API key")  # nothing
    refused = RateDecision(False, 20, 0, reset_at=T0 + 12.3, retry_after=12.3, window_seconds=HOUR)
    with pytest.raises(TooManyRequestsError) as caught:
        refused.raise_if_refused("API key")
    assert str(caught.value) == (
        "API key: the limit of 20 requests per hour is reached; retry in 13 s"
    )
    assert caught.value.retry_after == 13


# -- Redis ---------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_lets_20_through_then_refuses_the_21st_with_retry_after_and_headers(
    redis_url: str, redis_prefix: str
) -> None:
    clock = Clock()

    async def main() -> None:
        async with redis_clients(redis_url, 1) as [client]:
            limiter = RedisRateLimiter(client, prefix=redis_prefix, clock=clock)
            for i in range(20):
                clock.now = T0 + i
                decision = await limiter.hit("key-1", 20, HOUR)
                assert decision.allowed and decision.remaining == 19 - i
                assert decision.retry_after == 0
                assert decision.reset_at == pytest.approx(T0 + HOUR)
            clock.now = T0 + 100.5
            refused = await limiter.hit("key-1", 20, HOUR)
            assert not refused.allowed
            assert refused.retry_after == pytest.approx(HOUR - 100.5)
            assert refused.headers() == {
                "X-RateLimit-Limit": "20",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(T0 + HOUR)),
            }
            with pytest.raises(TooManyRequestsError) as caught:
                refused.raise_if_refused("API key")
            assert caught.value.retry_after == HOUR - 100
            # another key has a limit of its own
            assert (await limiter.hit("key-2", 20, HOUR)).allowed
            ttl = await client.pttl(redis_prefix + "key-1")
            assert 0 < ttl <= HOUR * 1000

    asyncio.run(main())


@pytest.mark.redis
def test_two_redis_limiters_on_separate_clients_share_one_limit(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> None:
        async with redis_clients(redis_url, 2) as [one, two]:
            server_a = RedisRateLimiter(one, prefix=redis_prefix)
            server_b = RedisRateLimiter(two, prefix=redis_prefix)
            results = []
            for i in range(20):
                server = server_a if i % 2 else server_b
                results.append((await server.hit("shared", 20, HOUR)).allowed)
            assert all(results)
            assert not (await server_a.hit("shared", 20, HOUR)).allowed
            assert not (await server_b.hit("shared", 20, HOUR)).allowed

    asyncio.run(main())


@pytest.mark.redis
def test_the_redis_window_slides_and_refused_hits_do_not_count(
    redis_url: str, redis_prefix: str
) -> None:
    clock = Clock()

    async def main() -> None:
        async with redis_clients(redis_url, 1) as [client]:
            limiter = RedisRateLimiter(client, prefix=redis_prefix, clock=clock)
            for i in range(5):  # hits at T0, T0+10, ..., T0+40
                clock.now = T0 + 10 * i
                assert (await limiter.hit("k", 5, 60)).allowed
            for t in (41, 50, 59.9):  # refused, and not counted
                clock.now = T0 + t
                refused = await limiter.hit("k", 5, 60)
                assert not refused.allowed
                assert refused.retry_after == pytest.approx(60 - t)
            clock.now = T0 + 60  # the hit at T0 is one window old: out
            assert (await limiter.hit("k", 5, 60)).allowed
            assert not (await limiter.hit("k", 5, 60)).allowed
            clock.now = T0 + 70  # the hit at T0+10 leaves
            decision = await limiter.hit("k", 5, 60)
            assert decision.allowed and decision.remaining == 0
            assert decision.reset_at == pytest.approx(T0 + 20 + 60)

    asyncio.run(main())


@pytest.mark.redis
def test_50_concurrent_hits_from_two_servers_let_exactly_20_through(
    redis_url: str, redis_prefix: str
) -> None:
    async def main() -> None:
        async with redis_clients(redis_url, 2) as [one, two]:
            limiters = [RedisRateLimiter(c, prefix=redis_prefix) for c in (one, two)]
            decisions = await asyncio.gather(
                *(limiters[i % 2].hit("busy", 20, HOUR) for i in range(50))
            )
            assert sum(d.allowed for d in decisions) == 20
            assert await one.zcard(redis_prefix + "busy") == 20

    asyncio.run(main())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_redis_down_fails_closed_with_503() -> None:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    async def main() -> None:
        client = aioredis.Redis(
            host="127.0.0.1",
            port=_closed_port(),
            password="hunter2-redis",
            retry=Retry(NoBackoff(), 0),
        )
        try:
            limiter = RedisRateLimiter(client)
            with pytest.raises(ServiceUnavailableError) as caught:
                await asyncio.wait_for(limiter.hit("k", 20, HOUR), 10)
        finally:
            await client.aclose()
        assert str(caught.value) == "the rate limiter (Redis) is unavailable; try again later"
        assert caught.value.__cause__ is None

    asyncio.run(main())


# -- the store -----------------------------------------------------------------------------------


def test_the_store_lets_20_through_then_refuses_with_retry_after(stores: list[Store]) -> None:
    clock = Clock(60 * 28_000_000 + 10)  # 10 s into a bucket
    limiter = StoreRateLimiter(stores[0], clock=clock)

    async def main() -> None:
        for i in range(20):
            decision = await limiter.hit("key-1", 20, HOUR)
            assert decision.allowed and decision.remaining == 19 - i
        refused = await limiter.hit("key-1", 20, HOUR)
        assert not refused.allowed and refused.remaining == 0
        assert refused.reset_at == 60 * 28_000_001  # the end of the current bucket
        assert refused.retry_after == pytest.approx(50)
        assert refused.headers()["X-RateLimit-Reset"] == str(60 * 28_000_001)
        with pytest.raises(TooManyRequestsError):
            refused.raise_if_refused("API key")
        assert (await limiter.hit("key-2", 20, HOUR)).allowed

    asyncio.run(main())


def test_a_busy_key_leases_hits_from_the_store_and_never_passes_the_limit(
    stores: list[Store],
) -> None:
    async def main() -> None:
        first, second = StoreRateLimiter(stores[0]), StoreRateLimiter(stores[-1])
        calls = 0
        real = stores[0].credentials.hit_rate_counter

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            return real(*args, **kwargs)

        stores[0].credentials.hit_rate_counter = counting  # type: ignore[method-assign]
        for _ in range(400):
            assert (await first.hit("busy", 100_000, HOUR)).allowed
        assert calls < 400 / 4, calls  # far fewer transactions than requests
        allowed = 0
        for i in range(1500):
            limiter = first if (i // 7) % 2 else second
            allowed += (await limiter.hit("shared-busy", 1000, HOUR)).allowed
        assert 1000 - 2 * 10 <= allowed <= 1000  # never more; at most a lease each less

    asyncio.run(main())


def test_concurrent_hits_of_one_key_share_one_round_trip(stores: list[Store]) -> None:
    """Hits of a key with no lease left wait for the call in flight and share its lease,
    rather than each opening a transaction (the p99 of a busy key on the database)."""
    import threading
    import time as clock_time

    real = stores[0].credentials.hit_rate_counter
    guard = threading.Lock()
    state = {"now": 0, "most": 0, "calls": 0}

    def tracking(*args: Any, **kwargs: Any) -> Any:
        with guard:
            state["now"] += 1
            state["calls"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            clock_time.sleep(0.005)
            return real(*args, **kwargs)
        finally:
            with guard:
                state["now"] -= 1

    stores[0].credentials.hit_rate_counter = tracking  # type: ignore[method-assign]
    limiter = StoreRateLimiter(stores[0])

    async def main() -> None:
        decisions = await asyncio.gather(*(limiter.hit("crowd", 100_000, HOUR) for _ in range(200)))
        assert all(d.allowed for d in decisions)

    asyncio.run(main())
    assert state["most"] == 1  # one round trip at a time for one key
    assert state["calls"] < 200 / 2, state["calls"]


def test_the_store_window_slides_a_bucket_at_a_time(stores: list[Store]) -> None:
    start = 60 * 28_000_000 + 10
    clock = Clock(start)
    limiter = StoreRateLimiter(stores[0], clock=clock)

    async def main() -> None:
        for _ in range(3):
            assert (await limiter.hit("k", 5, 600)).allowed  # bucket b: 3 hits
        clock.now = start + 300
        for _ in range(2):
            assert (await limiter.hit("k", 5, 600)).allowed  # bucket b+5: 2 hits
        for _ in range(3):  # refused hits do not count
            assert not (await limiter.hit("k", 5, 600)).allowed
        clock.now = start - 10 + 599  # bucket b+9: b is still in the 10-bucket window
        assert not (await limiter.hit("k", 5, 600)).allowed
        clock.now = start - 10 + 600  # bucket b+10: b has left, its 3 slots are free
        for _ in range(3):
            assert (await limiter.hit("k", 5, 600)).allowed
        assert not (await limiter.hit("k", 5, 600)).allowed

    asyncio.run(main())


def test_two_servers_on_one_database_share_one_limit_and_concurrency_holds(
    stores: list[Store],
) -> None:
    if len(stores) == 1:
        stores = [stores[0], stores[0]]  # memory: two limiters on one store
    limiters = [StoreRateLimiter(s) for s in stores]

    async def main() -> None:
        for i in range(10):
            assert (await limiters[i % 2].hit("shared", 10, HOUR)).allowed
        assert not (await limiters[0].hit("shared", 10, HOUR)).allowed
        assert not (await limiters[1].hit("shared", 10, HOUR)).allowed
        decisions = await asyncio.gather(
            *(limiters[i % 2].hit("busy", 20, HOUR) for i in range(50))
        )
        assert sum(d.allowed for d in decisions) == 20

    asyncio.run(main())


def test_long_keys_are_hashed_and_stay_distinct(stores: list[Store]) -> None:
    limiter = StoreRateLimiter(stores[0])
    key_a, key_b = "ip:" + "a" * 300, "ip:" + "a" * 299 + "b"
    assert len(StoreRateLimiter.store_key(key_a)) <= 191
    assert StoreRateLimiter.store_key(key_a) != StoreRateLimiter.store_key(key_b)
    assert StoreRateLimiter.store_key("short") == "short"

    async def main() -> None:
        assert (await limiter.hit(key_a, 1, HOUR)).allowed
        assert not (await limiter.hit(key_a, 1, HOUR)).allowed
        assert (await limiter.hit(key_b, 1, HOUR)).allowed

    asyncio.run(main())


def test_old_buckets_are_pruned_at_most_once_per_ten_minutes(stores: list[Store]) -> None:
    store = stores[0]
    now = 60 * 28_000_000
    old = Clock(now - 2 * 86400)
    current = Clock(now)
    writer_of_old_hits = StoreRateLimiter(store, clock=old)
    limiter = StoreRateLimiter(store, clock=current)

    def rows_left() -> int:  # prune everything (the end of the test) and count what it removed
        return store.credentials.prune_rate_counters(10**12)

    async def main() -> None:
        await writer_of_old_hits.hit("old-1", 5, HOUR)
        await limiter.hit("new", 5, HOUR)  # the first hit prunes: old-1 goes
        old.now += 60
        await writer_of_old_hits.hit("old-2", 5, HOUR)
        current.now += 9 * 60  # 9 minutes later: no prune yet, old-2 stays
        await limiter.hit("new", 5, HOUR)
        assert rows_left() == 3  # old-2, and new in two buckets

    asyncio.run(main())


@pytest.mark.parametrize("bad", [0, -1])
def test_a_limit_or_window_below_1_is_a_configuration_error(bad: int) -> None:
    limiter = StoreRateLimiter(MemoryStore())
    with pytest.raises(ConfigurationError, match="at least 1 request"):
        asyncio.run(limiter.hit("k", bad, HOUR))
    with pytest.raises(ConfigurationError, match="window"):
        asyncio.run(limiter.hit("k", 5, bad))


class CountingScript:
    """Wraps a limiter's Redis script and counts the round trips."""

    def __init__(self, script: Any) -> None:
        self.script = script
        self.calls = 0

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls += 1
        return await self.script(**kwargs)


@pytest.mark.redis
def test_a_busy_key_leases_hits_and_two_servers_still_never_pass_the_limit(
    redis_url: str, redis_prefix: str
) -> None:
    """A key seen often takes several hits per round trip (the lease); the limit still holds
    across servers, and a quiet key (a limit of 20) stays exact (the other tests)."""

    async def main() -> None:
        async with redis_clients(redis_url, 2) as [one, two]:
            busy = RedisRateLimiter(one, prefix=redis_prefix)
            counting = CountingScript(busy._script)
            busy._script = counting  # type: ignore[assignment]
            for _ in range(2000):
                assert (await busy.hit("busy", 1_000_000, HOUR)).allowed
            assert counting.calls < 2000 / 4, counting.calls  # far fewer round trips
            stored = await one.zcard(redis_prefix + "busy")
            assert 2000 <= stored <= 2000 + 50  # what a lease left unused stays counted

            server_a = RedisRateLimiter(one, prefix=redis_prefix)
            server_b = RedisRateLimiter(two, prefix=redis_prefix)
            allowed = 0
            for i in range(1500):
                server = server_a if (i // 7) % 2 else server_b
                allowed += (await server.hit("shared-busy", 1000, HOUR)).allowed
            assert 1000 - 2 * 10 <= allowed <= 1000  # never more; at most a lease each less
            assert await one.zcard(redis_prefix + "shared-busy") == 1000

    asyncio.run(main())
