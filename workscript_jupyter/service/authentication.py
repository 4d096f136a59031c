"""``Authenticator``: a workscript credential (API key, JWT access token, session) → a ``Caller``.

The identity order of ``/workscript/*`` (DESIGN §3) is API key → JWT → session cookie → Jupyter's
own identity; the server tries the first three here and falls back to ``Identities`` for the
last. What each check costs on a request:

- API key: its SHA-256, then the key and its owner from a short cache (``credential_cache_seconds``;
  a miss is one store call), then one rate-limit hit (Redis, or the database without it).
  ``last_used_at`` is written at most once a minute per key, in the background.
- JWT: the signature and claims (CPU only), then the session the token was issued for (a
  logout or a password change ends it, and with it every access token of that login), and the
  user, both cached likewise.

A revocation made on this server takes effect at once (the caches drop the entry); one made on
another server sharing the database, after at most ``credential_cache_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..auth.api_keys import Credential, hash_api_key
from ..errors import AuthenticationError, RecordNotFoundError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ApiKey, User
from .account_settings import AccountSettings
from .values import Caller

if TYPE_CHECKING:
    from ..auth.rate_limit import RateDecision, RateLimiter
    from ..auth.sessions import SessionBackend, SessionInfo
    from ..auth.tokens import TokenIssuer

__all__ = ["Authenticator", "Principal"]

_TOUCH_EVERY_SECONDS = 60.0
_RATE_WINDOW_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated request: its caller, the key's rate-limit decision (None without a
    key) and the session it belongs to (a JWT's or a cookie's)."""

    caller: Caller
    rate: RateDecision | None = None
    session_id: str | None = None


class _Ttl:
    """A small dict whose entries expire; ttl 0 keeps nothing."""

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded: a flood of keys cannot grow memory
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)

    def drop_where(self, test: Callable[[Any], bool]) -> None:
        for key in [k for k, (_, v) in self._entries.items() if test(v)]:
            self._entries.pop(key, None)


class Authenticator:
    """Checks workscript credentials; one per server."""

    def __init__(
        self,
        store: Store,
        *,
        tokens: TokenIssuer,
        sessions: SessionBackend,
        limiter: RateLimiter,
        settings: AccountSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._tokens = tokens
        self._sessions = sessions
        self._limiter = limiter
        self._settings = settings
        self._clock = clock
        ttl = settings.credential_cache_seconds
        self._keys = _Ttl(ttl)  # key hash -> ApiKey
        self._users = _Ttl(ttl)  # user id -> User
        self._live_sessions = _Ttl(ttl)  # session id -> SessionInfo
        self._touched: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def authenticate(self, credential: Credential, *, count: bool = True) -> Principal:
        """The caller of ``credential``; ``count=False`` checks it again without a rate-limit
        hit (an open WebSocket re-checking the credential it was opened with)."""
        if credential.kind == "api_key":
            return await self._api_key(credential.value, count=count)
        return await self.access_token(credential.value)

    # -- API keys ----------------------------------------------------------------------------

    async def _api_key(self, secret: str, *, count: bool = True) -> Principal:
        key_hash = hash_api_key(secret)
        key: ApiKey | None = self._keys.get(key_hash)
        if key is None:
            key = await run_off_loop(self._store.credentials.find_api_key, key_hash)
            if key is None:
                raise AuthenticationError("the API key is not valid")
            self._keys.put(key_hash, key)
        now = datetime.now(UTC)
        if key.revoked_at is not None:
            raise AuthenticationError("the API key has been revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise AuthenticationError("the API key has expired")
        user = await self._user(key.owner_id, what="the API key's user")
        caller = Caller.of_key(user, key.id, key.scopes)
        if not count:
            return Principal(caller)
        limit = key.rate_limit if key.rate_limit is not None else self._settings.api_key_rate_limit
        rate = await self._limiter.hit(f"apikey:{key.id}", limit, _RATE_WINDOW_SECONDS)
        if rate.allowed:
            self._touch(key.id)
        return Principal(caller, rate)

    def _touch(self, key_id: str) -> None:
        """Write ``last_used_at`` at most once a minute per key, without making the request wait."""
        now = time.monotonic()
        if now - self._touched.get(key_id, -_TOUCH_EVERY_SECONDS) < _TOUCH_EVERY_SECONDS:
            return
        if len(self._touched) > 100_000:
            self._touched.clear()
        self._touched[key_id] = now
        task = asyncio.get_running_loop().create_task(self._write_touch(key_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write_touch(self, key_id: str) -> None:
        # last_used_at is informative: a failed write must not fail anything else
        with contextlib.suppress(Exception):
            await run_off_loop(self._store.credentials.touch_api_key, key_id, datetime.now(UTC))

    # -- JWT and sessions --------------------------------------------------------------------

    async def access_token(self, token: str) -> Principal:
        claims = self._tokens.verify_access(token)
        if claims.session_id is not None:
            await self._live_session(claims.session_id, user_id=claims.user_id)
        user = await self._user(claims.user_id, what="the token's user")
        return Principal(Caller.of(user, via="jwt"), None, claims.session_id)

    async def session(self, session_id: str) -> Principal:
        """The caller of a session cookie's session."""
        info = await self._live_session(session_id, user_id=None)
        user = await self._user(info.user_id, what="the session's user")
        return Principal(Caller.of(user, via="session"), None, session_id)

    async def _live_session(self, session_id: str, *, user_id: str | None) -> SessionInfo:
        info: SessionInfo | None = self._live_sessions.get(session_id)
        if info is None:
            info = await self._sessions.get(session_id)
            if info is None:
                raise AuthenticationError("the session has ended; log in again")
            self._live_sessions.put(session_id, info)
        if user_id is not None and info.user_id != user_id:
            raise AuthenticationError("the token does not belong to its session")
        if info.expires_at <= datetime.now(UTC):
            self._live_sessions.drop(session_id)
            raise AuthenticationError("the session has expired; log in again")
        return info

    async def _user(self, user_id: str, *, what: str) -> User:
        user: User | None = self._users.get(user_id)
        if user is None:
            try:
                user = await run_off_loop(self._store.users.get, user_id)
            except RecordNotFoundError:
                raise AuthenticationError(f"{what} no longer exists") from None
            self._users.put(user_id, user)
        if not user.is_active:
            raise AuthenticationError(f"{what} is disabled")
        return user

    # -- what this server changed: forget it at once ------------------------------------------

    def forget_user(self, user_id: str) -> None:
        """A user changed (disabled, role, password): drop them, their sessions and keys."""
        self._users.drop(user_id)
        self._live_sessions.drop_where(lambda info: info.user_id == user_id)
        self._keys.drop_where(lambda key: key.owner_id == user_id)

    def forget_session(self, session_id: str) -> None:
        self._live_sessions.drop(session_id)

    def forget_key(self, key_id: str) -> None:
        self._keys.drop_where(lambda key: key.id == key_id)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        self._background.clear()
