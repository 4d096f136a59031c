"""Rate limits shared by every server: API keys (requests per hour), login, register and reset.

One question, ``hit(key, limit, window_seconds)``: may one more request under ``key`` go through,
given at most ``limit`` in any ``window_seconds``? The answer (``RateDecision``) carries what the
``X-RateLimit-*`` and ``Retry-After`` headers need. A refused hit is not counted, so a client that
keeps calling past the limit is let in again as the window slides, rather than locked out for as
long as it keeps trying.

Two backends, because a limit kept in one process's memory would let N servers through N times:

- ``RedisRateLimiter`` (when ``REDIS_URL`` is set): a true sliding window, one sorted set of hit
  times per key, checked and updated by one Lua script, atomic on the Redis server, so two servers
  sharing a Redis never let more than ``limit`` through. When Redis is down it fails *closed*
  (503): a limit that silently stops limiting while Redis is away is worse than a short outage
  of the routes it guards, and nobody would notice it had stopped.
- ``StoreRateLimiter`` (no Redis): counters in the database, ``(key, bucket) -> hits`` with
  buckets of ``bucket_seconds`` (a minute). The window is a whole number of buckets ending with the
  current one: a sliding window with a granularity of one bucket. Good enough for requests per
  hour, and one short transaction per request — per lease, for a busy key (``_Leases``).

Times come from ``clock`` (``time.time`` unless a test injects one); the Redis backend uses each
server's clock, so servers sharing a Redis should keep their clocks in step (NTP).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    ConfigurationError,
    ServiceUnavailableError,
    TooManyRequestsError,
    WorkscriptError,
)
from ..store.aio import run_off_loop

if TYPE_CHECKING:
    import redis.asyncio

    from ..store.base import Store

__all__ = [
    "MAX_STORE_KEY_LENGTH",
    "RateDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "StoreRateLimiter",
]

log = logging.getLogger(__name__)

Clock = Callable[[], float]

MAX_STORE_KEY_LENGTH = 191  # the rate_counters.counter_key column (utf8mb4 index limit)


def _describe_window(seconds: int) -> str:
    names = {3600: "hour", 60: "minute", 86400: "day", 1: "second"}
    if seconds in names:
        return names[seconds]
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class RateDecision:
    """The answer to one hit.

    ``reset_at``: epoch seconds when a slot frees up (the oldest counted hit's time, or its
    bucket's start, plus the window). ``retry_after``: seconds until then when refused, 0 when
    allowed. ``window_seconds``: the window the limit applies to (for messages).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: float
    window_seconds: int = 0

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (epoch seconds) for a response."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }

    @property
    def retry_after_seconds(self) -> int:
        """``retry_after`` as the whole seconds of a ``Retry-After`` header (at least 1)."""
        return max(1, math.ceil(self.retry_after))

    def raise_if_refused(self, what: str) -> None:
        """Raise ``TooManyRequestsError`` (429) naming ``what`` when this hit was refused."""
        if self.allowed:
            return
        wait = self.retry_after_seconds
        raise TooManyRequestsError(
            f"{what}: the limit of {self.limit} requests per "
            f"{_describe_window(self.window_seconds)} is reached; retry in {wait} s",
            retry_after=wait,
            details={"limit": self.limit, "windowSeconds": self.window_seconds},
        )


class RateLimiter(Protocol):
    """Counts hits under a key and answers whether one more may go through."""

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision: ...


def _check(limit: int, window_seconds: int) -> None:
    if limit < 1:
        raise ConfigurationError(f"a rate limit must allow at least 1 request, not {limit}")
    if window_seconds < 1:
        raise ConfigurationError(f"a rate-limit window must be 1 s or more, not {window_seconds}")


# -- Redis: a sorted set of hit times per key --------------------------------------------------

# KEYS[1] the key's sorted set; ARGV now, window (s), limit, a unique member prefix, and how
# many hits to take at once (a lease, see RedisRateLimiter). Drop what left the window (a hit
# exactly one window ago is out), count, add as many as the limit leaves (at most the lease),
# keep the set only as long as its newest hit matters. Returns the hits granted, the count,
# and the oldest score as a string (a Lua number would come back truncated to an integer).
_SLIDING_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local wanted = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local granted = math.min(wanted, limit - count)
if granted > 0 then
  for i = 1, granted do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
  end
  count = count + granted
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
else
  granted = 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {granted, count, oldest[2] or ARGV[1]}
"""

# A lease lives this long; what it leaves unused stays counted.
LEASE_SECONDS = 0.5
MAX_LEASE = 50


@dataclass
class _Lease:
    left: int
    until: float  # time.monotonic()
    limit: int
    window_seconds: int
    remaining: int  # in the backend after the lease was taken (the lease counted as used)
    reset_at: float


class _Leases:
    """Hits taken ahead for busy keys, served here without a round trip to the backend.

    The lease size follows the key's rate on this server: one hit (exact) for a key seen at
    most 4 times in the last second, growing with its rate up to ``limit // 100`` and
    ``MAX_LEASE`` — so a limit of 20, or of 1,000 an hour, stays exact or nearly so. The cost:
    hits a lease leaves unused when it expires (``LEASE_SECONDS``) stay counted, so a server
    may count up to one lease minus one early, per key and lease.
    """

    def __init__(self) -> None:
        self._leases: dict[str, _Lease] = {}
        self._seen: dict[str, tuple[int, int, int]] = {}  # key -> (second, this, previous)
        self._inflight: dict[str, asyncio.Future[None]] = {}

    def size(self, key: str, limit: int) -> int:
        """How many hits to ask the backend for now (counts this hit in the key's rate)."""
        second = int(time.monotonic())
        last, this, previous = self._seen.get(key, (second, 0, 0))
        if last != second:
            last, this, previous = second, 0, (this if last == second - 1 else 0)
        if len(self._seen) > 100_000:
            self._seen.clear()
        self._seen[key] = (last, this + 1, previous)
        busy = max(this, previous)
        if busy < 4:
            return 1
        return max(1, min(MAX_LEASE, limit // 100, busy // 4))

    def serve(self, key: str, limit: int, window_seconds: int) -> RateDecision | None:
        """An allowed decision from the key's lease, or None (ask the backend)."""
        lease = self._leases.get(key)
        if (
            lease is None
            or lease.left <= 0
            or time.monotonic() >= lease.until
            or (lease.limit, lease.window_seconds) != (limit, window_seconds)
        ):
            return None
        lease.left -= 1
        self.size(key, limit)  # keeps the key's rate current
        return RateDecision(True, limit, lease.remaining, lease.reset_at, 0.0, window_seconds)

    async def hit(
        self,
        key: str,
        limit: int,
        window_seconds: int,
        take: Callable[[int], Awaitable[tuple[int, RateDecision]]],
    ) -> RateDecision:
        """A decision from the key's lease, else from ``take(wanted)`` (the backend: hits
        granted and its decision). Concurrent hits of a key without a lease wait for the one
        round trip in flight and share its lease, instead of each making their own."""
        while True:
            leased = self.serve(key, limit, window_seconds)
            if leased is not None:
                return leased
            pending = self._inflight.get(key)
            if pending is None:
                break
            await asyncio.shield(pending)  # then try the fresh lease
        wanted = self.size(key, limit)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        try:
            granted, decision = await take(wanted)
            self.keep(key, granted, decision)
            return decision
        finally:
            del self._inflight[key]
            done.set_result(None)

    def keep(self, key: str, granted: int, decision: RateDecision) -> None:
        """Keep what the backend granted beyond this hit for the next ones."""
        if granted <= 1:
            self._leases.pop(key, None)
            return
        if len(self._leases) > 100_000:
            self._leases.clear()
        self._leases[key] = _Lease(
            granted - 1, time.monotonic() + LEASE_SECONDS, decision.limit,
            decision.window_seconds, decision.remaining, decision.reset_at,
        )  # fmt: skip


class RedisRateLimiter:
    """A sliding window in Redis, atomic across servers; fails closed when Redis is down.

    A key that is busy on this server takes several hits per round trip (``_Leases``): the
    round trip was a fifth of an authenticated request's time.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "workscript:rate:",
        clock: Clock = time.time,
    ) -> None:
        from redis.exceptions import RedisError

        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_SLIDING_WINDOW)
        self._redis_errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._leases = _Leases()

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        _check(limit, window_seconds)
        take = functools.partial(self._take, key, limit, window_seconds)
        return await self._leases.hit(key, limit, window_seconds, take)

    async def _take(
        self, key: str, limit: int, window_seconds: int, wanted: int
    ) -> tuple[int, RateDecision]:
        now = self._clock()
        member = f"{now:.6f}:{secrets.token_hex(8)}"
        try:
            reply: Any = await self._script(
                keys=[self._prefix + key],
                args=[repr(now), window_seconds, limit, member, wanted],
            )
        except self._redis_errors as exc:
            log.warning("rate limit refused: Redis is unavailable (%s)", type(exc).__name__)
            raise ServiceUnavailableError(
                "the rate limiter (Redis) is unavailable; try again later"
            ) from None
        granted, count, oldest = int(reply[0]), int(reply[1]), float(reply[2])
        reset_at = oldest + window_seconds
        return granted, RateDecision(
            allowed=granted > 0,
            limit=limit,
            remaining=limit - count,
            reset_at=reset_at,
            retry_after=0.0 if granted > 0 else max(0.0, reset_at - now),
            window_seconds=window_seconds,
        )


# -- the database: hits per (key, bucket) ------------------------------------------------------

PRUNE_EVERY_SECONDS = 600


class StoreRateLimiter:
    """Counters in the store (``rate_counters``), shared by every server on one database.

    The window covers ``ceil(window_seconds / bucket_seconds)`` buckets ending with the current
    one: a sliding window with a granularity of ``bucket_seconds`` (a window that is not a whole
    number of buckets is rounded up, which errs on the side of limiting). ``reset_at`` is the end
    of the current bucket: when the oldest bucket leaves the window, the earliest moment a slot
    can free up. Buckets older than ``keep_seconds`` (and than any window this process has seen)
    are deleted at most once per ten minutes per process.
    """

    def __init__(
        self,
        store: Store,
        *,
        bucket_seconds: int = 60,
        keep_seconds: int = 86400,
        clock: Clock = time.time,
    ) -> None:
        if bucket_seconds < 1:
            raise ConfigurationError(f"bucket_seconds must be 1 or more, not {bucket_seconds}")
        self._store = store
        self._bucket_seconds = bucket_seconds
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._longest_window = 0
        self._last_prune: float | None = None
        self._leases = _Leases()

    @staticmethod
    def store_key(key: str) -> str:
        """The key as stored: itself, or its SHA-256 when longer than the column allows."""
        if len(key) <= MAX_STORE_KEY_LENGTH:
            return key
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        _check(limit, window_seconds)
        take = functools.partial(self._take, key, limit, window_seconds)
        return await self._leases.hit(key, limit, window_seconds, take)

    async def _take(
        self, key: str, limit: int, window_seconds: int, wanted: int
    ) -> tuple[int, RateDecision]:
        size = self._bucket_seconds
        now = self._clock()
        bucket = int(now // size)
        span = -(-window_seconds // size)  # ceil: whole buckets, never a shorter window
        oldest_bucket = bucket - span + 1
        hits, granted = await run_off_loop(
            self._store.credentials.hit_rate_counter,
            self.store_key(key),
            bucket,
            oldest_bucket,
            limit,
            wanted=wanted,
        )
        allowed = granted > 0
        self._longest_window = max(self._longest_window, span * size)
        await self._maybe_prune(now)
        reset_at = float(oldest_bucket * size + span * size)
        decision = RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=limit - hits,
            reset_at=reset_at,
            retry_after=0.0 if allowed else max(0.0, reset_at - now),
            window_seconds=window_seconds,
        )
        return granted, decision

    async def _maybe_prune(self, now: float) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now  # before the await: concurrent hits do not all prune
        keep = max(self._keep_seconds, self._longest_window)
        before_bucket = int((now - keep) // self._bucket_seconds)
        try:
            removed = await run_off_loop(self._store.credentials.prune_rate_counters, before_bucket)
        except WorkscriptError as exc:  # a failed clean-up must not fail the request
            log.warning("could not prune old rate counters: %s", exc.message)
            return
        if removed:
            log.debug("pruned %d old rate counters", removed)
