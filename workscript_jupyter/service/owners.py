"""``OwnerCallers``: the caller a run acts as when nobody is calling — its record's owner.

A scheduler fire, a webhook, a retry, a run taken from the queue or from a dead server all run
as the owner of the automation or run. The owner's ``Caller`` is read from the store once and
kept for a minute (roles rarely change; a change shows after at most that long).

A run started with an API key is the exception: its record keeps the key's id and permissions
(``trigger_data["actingKey"]``, written by ``with_acting_key`` when the run is queued), and
wherever it runs later (a ``workscript worker``, a retry, a takeover from a dead server) it acts
as that key — the permissions the key had then that its owner still has — never as its owner
with every permission (a key without ``ai:use`` must not spend its owner's money through a
worker).
"""

from __future__ import annotations

from typing import Any, Final

from ..store.base import Store
from ..store.records import ExecutionRecord, Scope
from .cache import ReadCache
from .common import store_call
from .values import Caller

__all__ = ["ACTING_KEY", "OwnerCallers", "with_acting_key"]

ACTING_KEY: Final = "actingKey"


def with_acting_key(trigger_data: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """``trigger_data`` with the key ``caller`` acts as (or without any: a value a client sent
    under that name is never kept)."""
    data = {k: v for k, v in trigger_data.items() if k != ACTING_KEY}
    if caller.via == "api_key" and caller.key_id:
        data[ACTING_KEY] = {"id": caller.key_id, "permissions": sorted(caller.permissions)}
    return data


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

    async def caller_for_run(self, record: ExecutionRecord) -> Caller:
        """Who ``record`` acts as: its owner, or the API key that started it."""
        owner = await self.caller(record.owner_id)
        acting = record.trigger_data.get(ACTING_KEY)
        if not isinstance(acting, dict):
            return owner
        listed = acting.get("permissions")
        granted = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
        return Caller.of_key(owner.user, str(acting.get("id") or ""), granted)
