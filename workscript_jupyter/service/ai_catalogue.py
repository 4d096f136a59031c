"""``AiCatalogue``: the provider's model list kept in the ``ai_models`` table.

A sync reads the provider's whole list (``GET /models``), turns each entry into an ``AiModel``
(vendor from the id, prices parsed from the provider's strings, modalities from its
``architecture``) and writes them in one full sync: models the provider no longer lists stay,
inactive, so past usage keeps its price.

Syncs happen on demand (an admin's ``POST /workscript/ai/models/sync``) and every
``interval_seconds`` in the background. Several servers may share a database; exactly one of
them syncs per interval:

1. each server checks the catalogue's age (``last_synced_at``) every ``check_seconds``: a fresh
   catalogue costs one small read and nothing else;
2. when it is due, the server tries a lock of its own name (``SYNC_LOCK``: the scheduler's
   leader-lock machinery, MySQL ``GET_LOCK``, Redis or a file) without waiting: a server that
   does not get it leaves the sync to the one that did;
3. holding the lock, it reads the age again: a server that got the lock just after another
   one's sync finds the catalogue fresh and does nothing.

A failed sync (provider down, no key) is logged and tried again at the next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from ..errors import AIError, AIMissingKeyError, AIProviderError, StoreError
from ..scheduler.lock_base import LeaderLock
from ..store.base import Store
from ..store.records import AiModel, utcnow
from .common import store_call

__all__ = ["MAX_MODELS", "SYNC_LOCK", "AiCatalogue", "SyncOutcome", "SyncReport", "model_from"]

log = logging.getLogger(__name__)

SYNC_LOCK: Final = "workscript-ai-models"
MAX_MODELS: Final = 5_000  # OpenRouter lists a few hundred; more is not a catalogue
MAX_CHECK_SECONDS: Final = 300.0
_ID_LENGTH, _NAME_LENGTH, _VENDOR_LENGTH = 200, 300, 50
_DESCRIPTION_LENGTH: Final = 10_000
_MODALITY_LENGTH: Final = 40

SyncOutcome = Literal["synced", "fresh", "busy", "failed", "off"]
ModelLister = Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync wrote: ``models`` listed by the provider and kept, ``skipped`` entries
    that were not models (no id...), and when."""

    models: int
    skipped: int
    synced_at: datetime


class AiCatalogue:
    """Syncs the catalogue from ``list_models`` (the client's ``models``) into ``store``.

    ``lock`` coordinates the servers of one database (None: this process alone);
    ``interval_seconds`` is how old the catalogue may grow (0: no background sync)."""

    def __init__(
        self,
        store: Store,
        list_models: ModelLister | None,
        *,
        lock: LeaderLock | None = None,
        interval_seconds: float = 86_400.0,
        check_seconds: float | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_synced: Callable[[], None] | None = None,
    ) -> None:
        if not math.isfinite(interval_seconds) or interval_seconds < 0:
            raise ValueError(f"the AI model sync interval must be >= 0 s, not {interval_seconds}")
        self._store = store
        self._list_models = list_models
        self._lock = lock
        self.interval_seconds = interval_seconds
        self.check_seconds = (
            check_seconds
            if check_seconds is not None
            else min(max(interval_seconds, 1.0), MAX_CHECK_SECONDS)
        )
        self._clock = clock
        self._on_synced = on_synced  # the prices this process keeps are stale now
        self._task: asyncio.Task[None] | None = None
        self.outcomes: list[SyncOutcome] = []  # of the background checks, for tests and status

    # -- syncing

    async def sync(self) -> SyncReport:
        """Read the provider's list and write it (a full sync). Raises the client's
        ``AIError`` (MISSING_API_KEY without a key) and leaves the catalogue as it was."""
        if self._list_models is None:
            raise AIMissingKeyError(
                "no OpenRouter API key is configured: set OPENROUTER_API_KEY on the server"
            )
        entries = await self._list_models()
        now = self._clock()
        models: dict[str, AiModel] = {}
        skipped = 0
        for entry in entries[:MAX_MODELS]:
            model = model_from(entry, now)
            if model is None:
                skipped += 1
            else:
                models[model.id] = model
        skipped += max(0, len(entries) - MAX_MODELS)
        if not models:
            # an empty list is a provider failure, not "every model is gone"
            raise AIProviderError("the AI provider listed no models; the catalogue is unchanged")
        await store_call(self._store.ai.upsert_models, list(models.values()), full_sync=True)
        if self._on_synced is not None:
            self._on_synced()
        if skipped:
            log.warning("AI model sync: %d entries of the provider's list were skipped", skipped)
        log.info("AI model sync: %d models", len(models))
        return SyncReport(len(models), skipped, now)

    async def is_fresh(self) -> bool:
        """Was the catalogue written less than ``interval_seconds`` ago?"""
        last = await store_call(self._store.ai.last_synced_at)
        if last is None:
            return False
        return self._clock() - last < timedelta(seconds=self.interval_seconds)

    async def sync_if_due(self) -> SyncOutcome:
        """One background check (see the module docstring): synced, fresh (nothing to do),
        busy (another server holds the lock) or failed (logged; tried at the next check)."""
        try:
            if await self.is_fresh():
                return "fresh"
            if self._lock is not None and not await self._lock.try_acquire():
                return "busy"
            try:
                if await self.is_fresh():  # another server synced while we took the lock
                    return "fresh"
                await self.sync()
                return "synced"
            finally:
                if self._lock is not None:
                    await self._lock.release()
        except (AIError, StoreError) as error:
            log.warning("AI model sync failed: %s (tried again later)", error.message)
            return "failed"

    # -- the background loop

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Check now, then every ``check_seconds``; nothing when the interval is 0 or there
        is no provider."""
        if self.running or self.interval_seconds == 0 or self._list_models is None:
            return
        self._task = asyncio.create_task(self._run(), name="workscript-ai-model-sync")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._lock is not None:
            await self._lock.release()

    async def _run(self) -> None:
        while True:
            self.outcomes.append(await self.sync_if_due())
            del self.outcomes[:-100]
            await asyncio.sleep(self.check_seconds)


# -- the provider's entries ------------------------------------------------------------------


def model_from(entry: Any, now: datetime) -> AiModel | None:
    """An ``AiModel`` from one entry of OpenRouter's ``/models`` list; None when the entry is
    not a model (no usable id). Prices are USD per token; a price that is not a non-negative
    number (OpenRouter writes "-1" for a router's variable price) is unknown (None)."""
    if not isinstance(entry, Mapping):
        return None
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > _ID_LENGTH:
        return None
    model_id = model_id.strip()
    vendor = model_id.split("/", 1)[0].lower() if "/" in model_id else "openrouter"
    architecture = _mapping(entry.get("architecture"))
    top = _mapping(entry.get("top_provider"))
    pricing = {
        str(k)[:50]: v
        for k, v in list(_mapping(entry.get("pricing")).items())[:50]
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    name = entry.get("name")
    description = entry.get("description")
    return AiModel(
        id=model_id,
        name=name.strip()[:_NAME_LENGTH] if isinstance(name, str) and name.strip() else model_id,
        provider=vendor[:_VENDOR_LENGTH],
        description=description[:_DESCRIPTION_LENGTH] if isinstance(description, str) else None,
        context_length=_count(entry.get("context_length")) or _count(top.get("context_length")),
        max_completion_tokens=_count(top.get("max_completion_tokens")),
        input_modalities=_modalities(architecture, "input_modalities", 0),
        output_modalities=_modalities(architecture, "output_modalities", 1),
        prompt_price=_price(pricing.get("prompt")),
        completion_price=_price(pricing.get("completion")),
        pricing=pricing,
        is_active=True,
        updated_at=now,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value <= 0 or value >= 2**53:
        return None
    return int(value)


def _price(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and price >= 0 else None


def _modalities(architecture: Mapping[str, Any], key: str, side: int) -> list[str]:
    """The listed modalities, else those of ``modality`` ("text+image->text"), lower-cased."""
    listed = architecture.get(key)
    if not isinstance(listed, list):
        modality = architecture.get("modality")
        parts = modality.split("->") if isinstance(modality, str) else []
        listed = parts[side].split("+") if len(parts) == 2 else []
    found: list[str] = []
    for item in listed[:20]:
        if isinstance(item, str) and item.strip() and len(item) <= _MODALITY_LENGTH:
            value = item.strip().lower()
            if value not in found:
                found.append(value)
    return found
