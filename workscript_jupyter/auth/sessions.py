"""Login sessions (the cookie of a browser that logged in): in Redis, or in the database.

Never only in memory: a restart, or a second server behind the same address, must not log
everyone out. Both backends answer the same four questions; ``get`` returns None alike for an
unknown, an expired and a revoked session, so a caller cannot tell them apart (nor can a client).

- ``RedisSessions``: one hash per session with a TTL (Redis forgets it when it expires) and one
  set per user of their sessions, so ``revoke_user`` (password change, reset) can end them all.
  Keys hold the SHA-256 of the session id, never the id itself: someone who can read Redis
  cannot lift a live cookie from it.
- ``StoreSessions``: the store's ``sessions`` table; the session id is the row's id (32 random
  hex characters). Expired rows are ignored here and deleted by the store's clean-up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigurationError, RecordNotFoundError
from ..store.aio import run_off_loop

if TYPE_CHECKING:
    import redis.asyncio

    from ..store.base import Store

__all__ = ["RedisSessions", "SessionBackend", "SessionInfo", "StoreSessions"]

Clock = Callable[[], float]

# what secrets.token_urlsafe(32) gives, and the store's 32 hex: anything else is no session of
# ours, answered without a round trip (and never a Redis key built from arbitrary input)
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True)
class SessionInfo:
    id: str
    user_id: str
    expires_at: datetime

    def __repr__(self) -> str:  # the id is the bearer secret of a cookie: keep it out of logs
        return f"SessionInfo(user_id={self.user_id!r}, expires_at={self.expires_at.isoformat()})"


class SessionBackend(Protocol):
    """Where sessions live. ``get`` is None for unknown, expired and revoked sessions alike."""

    async def create(
        self,
        user_id: str,
        *,
        ttl_seconds: int,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> SessionInfo: ...

    async def get(self, session_id: str) -> SessionInfo | None: ...

    async def revoke(self, session_id: str) -> None: ...

    async def revoke_user(self, user_id: str) -> int: ...


def _check_ttl(ttl_seconds: int) -> None:
    if ttl_seconds < 1:
        raise ConfigurationError(f"a session must live 1 s or more, not {ttl_seconds} s")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


# -- Redis ---------------------------------------------------------------------------------------

# KEYS: the session's hash, the user's set. ARGV: ttl (s), the session key's digest, then the
# hash's field/value pairs. The user's set lives as long as their longest session.
_CREATE = """
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return 1
"""

# KEYS: the user's set. ARGV: the prefix of session keys. Atomic, so a session created while
# the user's sessions are being revoked is either revoked too or created after: never missed.
_REVOKE_USER = """
local digests = redis.call('SMEMBERS', KEYS[1])
local ended = 0
for _, digest in ipairs(digests) do
  ended = ended + redis.call('DEL', ARGV[1] .. digest)
end
redis.call('DEL', KEYS[1])
return ended
"""

# KEYS: the session's hash. ARGV: the prefix of user sets, the session key's digest.
_REVOKE = """
local user_id = redis.call('HGET', KEYS[1], 'user_id')
redis.call('DEL', KEYS[1])
if user_id then redis.call('SREM', ARGV[1] .. user_id, ARGV[2]) end
return 1
"""


class RedisSessions:
    """Sessions in Redis, with their TTL; they survive a server restart."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "workscript:session:",
        clock: Clock = time.time,
    ) -> None:
        self._client = client
        self._session_prefix = prefix + "s:"
        self._user_prefix = prefix + "u:"
        self._clock = clock
        self._create = client.register_script(_CREATE)
        self._revoke = client.register_script(_REVOKE)
        self._revoke_user = client.register_script(_REVOKE_USER)

    @staticmethod
    def _digest(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("ascii")).hexdigest()

    async def create(
        self,
        user_id: str,
        *,
        ttl_seconds: int,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> SessionInfo:
        _check_ttl(ttl_seconds)
        session_id = secrets.token_urlsafe(32)
        digest = self._digest(session_id)
        now = self._clock()
        expires = now + ttl_seconds
        fields = {
            "user_id": user_id,
            "created_at": repr(now),
            "expires_at": repr(expires),
            "user_agent": user_agent or "",
            "ip": ip or "",
        }
        pairs = [part for item in fields.items() for part in item]
        await self._create(
            keys=[self._session_prefix + digest, self._user_prefix + user_id],
            args=[ttl_seconds, digest, *pairs],
        )
        return SessionInfo(session_id, user_id, datetime.fromtimestamp(expires, UTC))

    async def get(self, session_id: str) -> SessionInfo | None:
        if not _SESSION_ID.fullmatch(session_id):
            return None
        raw: dict[Any, Any] = await self._client.hgetall(
            self._session_prefix + self._digest(session_id)
        )
        values = {_text(k): _text(v) for k, v in raw.items()}
        if "user_id" not in values:
            return None
        expires = float(values["expires_at"])
        if expires <= self._clock():  # Redis's TTL ends it too; this covers the last second
            return None
        return SessionInfo(session_id, values["user_id"], datetime.fromtimestamp(expires, UTC))

    async def revoke(self, session_id: str) -> None:
        if not _SESSION_ID.fullmatch(session_id):
            return
        digest = self._digest(session_id)
        await self._revoke(keys=[self._session_prefix + digest], args=[self._user_prefix, digest])

    async def revoke_user(self, user_id: str) -> int:
        ended = await self._revoke_user(
            keys=[self._user_prefix + user_id], args=[self._session_prefix]
        )
        return int(ended)


# -- the database --------------------------------------------------------------------------------


class StoreSessions:
    """Sessions in the store's ``sessions`` table, every call off the event loop."""

    def __init__(self, store: Store, *, clock: Clock = time.time) -> None:
        self._store = store
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def create(
        self,
        user_id: str,
        *,
        ttl_seconds: int,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> SessionInfo:
        _check_ttl(ttl_seconds)
        expires_at = self._now() + timedelta(seconds=ttl_seconds)
        session = await run_off_loop(
            self._store.credentials.create_session,
            user_id,
            expires_at,
            user_agent=user_agent,
            ip=ip,
        )
        return SessionInfo(session.id, session.user_id, _utc(session.expires_at))

    async def get(self, session_id: str) -> SessionInfo | None:
        if not _SESSION_ID.fullmatch(session_id):
            return None
        session = await run_off_loop(self._store.credentials.get_session, session_id)
        if session is None or session.revoked_at is not None:
            return None
        expires_at = _utc(session.expires_at)
        if expires_at <= self._now():
            return None
        return SessionInfo(session.id, session.user_id, expires_at)

    async def revoke(self, session_id: str) -> None:
        """Revoke; an unknown session is no error (logging out twice is fine)."""
        if not _SESSION_ID.fullmatch(session_id):
            return
        try:
            await run_off_loop(self._store.credentials.revoke_session, session_id, self._now())
        except RecordNotFoundError:
            return

    async def revoke_user(self, user_id: str) -> int:
        return await run_off_loop(
            self._store.credentials.revoke_user_sessions, user_id, self._now()
        )
