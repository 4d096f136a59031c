"""``OwnerCallers``: the caller a run acts as when nobody is calling — its record's owner.

A scheduler fire, a webhook, a retry, a run taken from the queue or from a dead server all run
as the owner of the automation or run. The owner's ``Caller`` is read from the store once and
kept for a minute (roles rarely change; a change shows after at most that long).
"""

from __future__ import annotations

from typing import Final

from ..store.base import Store
from ..store.records import Scope
from .cache import ReadCache
from .common import store_call
from .values import Caller

__all__ = ["OwnerCallers"]

_SERVER_SCOPE: Final = Scope(user_id="server:owners", is_admin=True)
_TTL_SECONDS: Final = 60.0


class OwnerCallers:
    """``await owners.caller(user_id)``: the owner's caller (``RecordNotFoundError`` if gone)."""

    def __init__(self, store: Store, *, ttl_seconds: float = _TTL_SECONDS) -> None:
        self._store = store
        self._cache: ReadCache[Caller] = ReadCache(ttl_seconds)

    async def caller(self, owner_id: str) -> Caller:
        cached = self._cache.get(owner_id, _SERVER_SCOPE)
        if cached is not None:
            return cached
        user = await store_call(self._store.users.get, owner_id)
        caller = Caller.of(user)
        self._cache.put(owner_id, owner_id, caller)
        return caller
