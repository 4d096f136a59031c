"""The Redis leader lock: a key with our token and a TTL that every check renews."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import Any

from ..errors import ConfigurationError, MissingDriverError
from ..store.connection import mask_url
from .lock_base import (
    DEFAULT_LOCK_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TTL_SECONDS,
    LeaderLock,
)

__all__ = ["RedisLeaderLock"]

log = logging.getLogger(__name__)

# -- Redis ----------------------------------------------------------------------------------------

# SET NX, or already ours (a retry after a late success): renew. Then compare-and-renew and
# compare-and-delete: never touch a key that another server's token holds.
_ACQUIRE = """if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end
return 0"""
_RENEW = """if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('pexpire', KEYS[1], ARGV[2])"""
_DELETE = """if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('del', KEYS[1])"""


class RedisLeaderLock(LeaderLock):
    """A key holding our token for ``ttl_seconds``; ``check()`` renews it while it is ours."""

    backend = "redis"

    def __init__(
        self,
        redis_url: str,
        *,
        name: str = DEFAULT_LOCK_NAME,
        key: str | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if ttl_seconds <= 0:
            raise ConfigurationError(f"ttl_seconds must be positive, not {ttl_seconds}")
        # a renewal slower than half the TTL is too late to count
        super().__init__(name, timeout_seconds=min(timeout_seconds, ttl_seconds / 2))
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            advice = 'pip install "workscript-jupyter[redis]"'
            raise MissingDriverError(f"a Redis leader lock needs redis: {advice}") from None

        try:
            self._client: Any = redis.Redis.from_url(
                redis_url,
                socket_timeout=self.timeout_seconds,
                socket_connect_timeout=self.timeout_seconds,
                retry=Retry(NoBackoff(), 0),  # our caller retries, every few seconds
            )
        except ValueError as error:
            raise ConfigurationError(f"invalid Redis URL {mask_url(redis_url)}: {error}") from None
        self.key = key or f"workscript:leader:{name}"
        self.ttl_ms = max(1, round(ttl_seconds * 1000))
        self._token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self._scripts = {
            script: self._client.register_script(script) for script in (_ACQUIRE, _RENEW, _DELETE)
        }
        kwargs = self._client.connection_pool.connection_kwargs
        self._server = str(kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}")

    def _run(self, script: str, *args: Any) -> int:
        return int(self._scripts[script](keys=[self.key], args=[self._token, *args]))

    def _acquire(self) -> bool:
        return self._run(_ACQUIRE, self.ttl_ms) == 1

    def _check(self) -> bool:
        return self._run(_RENEW, self.ttl_ms) == 1

    def _release(self) -> bool:
        try:
            self._run(_DELETE)
        finally:
            self._client.connection_pool.disconnect()
        return True

    def _details(self) -> dict[str, Any]:
        return {"key": self.key, "ttl_seconds": self.ttl_ms / 1000, "server": self._server}
