"""A short-lived read cache for records this server reads far more often than it writes.

A workflow GET went through a store thread and SQLite for ~1 ms; from the cache it is a dict
look-up. This server's own writes replace or drop the entry at once, so on one server the cache is
never stale; with several servers sharing a database, another server's change shows here after at
most ``ttl_seconds``. Access rules are checked on every hit, as the store would.
"""

from __future__ import annotations

import time
from typing import Generic, TypeVar

from ..store.records import Scope

__all__ = ["ReadCache"]

T = TypeVar("T")


class ReadCache(Generic[T]):
    """Owned records by id, each kept ``ttl_seconds``; a ttl of 0 turns the cache off."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, str, T]] = {}

    def get(self, record_id: str, scope: Scope) -> T | None:
        entry = self._entries.get(record_id)
        if entry is None:
            return None
        expires, owner_id, record = entry
        if time.monotonic() >= expires:
            del self._entries[record_id]
            return None
        # a row the scope may not see is a miss: the store answers (with its not-found)
        return record if scope.allows(owner_id) else None

    def put(self, record_id: str, owner_id: str, record: T) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare, and cheaper than tracking an LRU order
        self._entries[record_id] = (time.monotonic() + self.ttl, owner_id, record)

    def drop(self, record_id: str) -> None:
        self._entries.pop(record_id, None)
