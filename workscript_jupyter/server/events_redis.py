"""Run events across servers: Redis pub/sub on the channel ``workscript:events``.

Imported only when a Redis URL is configured. Each message is the JSON of ``Event.to_message()``
plus ``ownerId`` (who may read the run) and ``origin`` (the hub that published it): a hub
delivers the messages of other origins to its local clients and ignores its own, which it has
already delivered. Redis trouble never reaches a run: publishing is queued and batched off the
bus listener, failures are logged and retried, and the events stay local meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..store.connection import mask_url

__all__ = ["REDIS_CHANNEL", "RedisBridge", "channel_for"]

log = logging.getLogger(__name__)

REDIS_CHANNEL = "workscript:events"


def channel_for(db_url: str) -> str:
    """The channel of the servers sharing ``db_url``: ``workscript:events:<hash>``.

    Two deployments may share one Redis; each hears only the servers of its own database
    (an admin of one must never see the other's runs). The hash is of the URL without its
    password, so a rotated password keeps the channel.
    """
    digest = hashlib.sha256(mask_url(db_url).encode()).hexdigest()[:16]
    return f"{REDIS_CHANNEL}:{digest}"


MAX_PENDING_PUBLISH = 10_000
PUBLISH_BATCH = 500
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0

Deliver = Callable[[dict[str, Any], Any], None]


class RedisBridge:
    """Publishes local events to Redis and hands the other servers' events to ``deliver``."""

    def __init__(
        self, url: str, origin: str, deliver: Deliver, *, channel: str = REDIS_CHANNEL
    ) -> None:
        self.url = url
        self.channel = channel
        self.origin = origin
        self._deliver = deliver
        self._client: Any = None
        self._pubsub: Any = None
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=MAX_PENDING_PUBLISH)
        self._tasks: list[asyncio.Task[None]] = []
        self._dropped = 0

    async def start(self) -> None:
        self._client = aioredis.from_url(self.url)
        try:
            # subscribed before start() returns: events published from now on are seen
            self._pubsub = await asyncio.wait_for(self._subscribe(), CONNECT_TIMEOUT_SECONDS)
        except (TimeoutError, RedisError, OSError) as error:
            log.warning(
                "workscript events: Redis %s unavailable, retrying: %s",
                mask_url(self.url),
                type(error).__name__,  # a driver message may repeat the URL and its password
            )
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="workscript-events-redis-read"),
            asyncio.create_task(self._publish_loop(), name="workscript-events-redis-publish"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._close_pubsub()
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()
            self._client = None

    async def _subscribe(self) -> Any:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            raise
        return pubsub

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def publish(self, message: dict[str, Any], owner_id: Any) -> None:
        """Queue one event for Redis; never blocks nor raises (the bus listener calls it)."""
        data = dict(message, ownerId=owner_id, origin=self.origin)
        try:
            self._outgoing.put_nowait(json.dumps(data, default=str))
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped % 1000 == 1:
                log.warning("workscript events: Redis is behind, %d events dropped", self._dropped)

    async def _publish_loop(self) -> None:
        backoff = 0.1
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < PUBLISH_BATCH and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                pipe = self._client.pipeline(transaction=False)
                for data in batch:
                    pipe.publish(self.channel, data)
                await pipe.execute()
                backoff = 0.1
            except (RedisError, OSError) as error:
                log.warning("workscript events: %d events not published: %r", len(batch), error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _read_loop(self) -> None:
        backoff = 0.1
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe()
                async for item in self._pubsub.listen():
                    backoff = 0.1
                    if item.get("type") == "message":
                        self._receive(item.get("data"))
            except (RedisError, OSError, RuntimeError) as error:
                log.warning("workscript events: Redis subscription lost, retrying: %r", error)
            # the subscription ended (an error, or listen() returned): a fresh one, after a pause
            await self._close_pubsub()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _receive(self, raw: Any) -> None:
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            log.warning("workscript events: ignoring a malformed Redis message")
            return
        if not isinstance(data, dict) or data.pop("origin", None) == self.origin:
            return
        owner_id = data.pop("ownerId", None)
        try:
            self._deliver(data, owner_id)
        except Exception:  # one bad message must not end the subscription
            log.exception("workscript events: delivering a Redis message failed")
