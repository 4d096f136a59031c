"""``UsagePricing``: what a completion costs, from the model catalogue's prices.

Cost = prompt tokens * prompt price + completion tokens * completion price, the prices (USD per
token) of the catalogue (a variant id such as ``…:nitro`` that it does not list: its base
model's). A model the catalogue does not price costs 0 and is logged once per model; under a
budget, once the catalogue has been synced, such a model is refused before any request
(``AIModelNotPricedError``, 422): its spend could not be counted.

Prices change once a day at most (the catalogue's sync), while a loop of ``ask-ai`` steps asks
for them at every call: each model's row is read from the store at most every ``ttl_seconds``
(60 s), and a sync by this process forgets them at once (``forget``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Final

from ..errors import AIModelNotPricedError
from ..store.base import Store
from ..store.records import AiModel
from .common import store_call

__all__ = ["MAX_CACHED_MODELS", "TTL_SECONDS", "UsagePricing"]

log = logging.getLogger(__name__)

TTL_SECONDS: Final = 60.0
MAX_CACHED_MODELS: Final = 2_000
_MODEL_LENGTH: Final = 200


class UsagePricing:
    """The cost of a completion from the catalogue's prices (see the module docstring)."""

    def __init__(self, store: Store, *, ttl_seconds: float = TTL_SECONDS) -> None:
        self._store = store
        self._warned: set[str] = set()
        self.ttl_seconds = ttl_seconds
        self._models: dict[str, tuple[float, AiModel | None]] = {}  # id -> (read at, model)
        self._synced: tuple[float, bool] | None = None  # (read at, synced at least once)

    def forget(self) -> None:
        """The catalogue changed (a sync): the next calls read the prices again."""
        self._models.clear()
        self._synced = None

    async def _model(self, model_id: str) -> AiModel | None:
        """The catalogue's model ``model_id`` (None: not listed), read at most every
        ``ttl_seconds``. Bounded: model ids come from workflows, so from users."""
        now = time.monotonic()
        cached = self._models.get(model_id)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        model = await store_call(self._store.ai.get_model, model_id)
        if len(self._models) >= MAX_CACHED_MODELS:
            self._models.clear()
        self._models[model_id] = (now, model)
        return model

    async def _ever_synced(self) -> bool:
        now = time.monotonic()
        if self._synced is None or now - self._synced[0] >= self.ttl_seconds:
            synced = await store_call(self._store.ai.last_synced_at) is not None
            self._synced = (now, synced)
        return self._synced[1]

    async def priced_model(self, model_id: str) -> AiModel | None:
        """The catalogue's priced model for ``model_id``: itself, else the model it is a
        variant of (``openai/gpt-4o:nitro`` is billed as ``openai/gpt-4o``, which is what the
        provider lists; a variant it lists itself, such as ``:free``, keeps its own price)."""
        for candidate in dict.fromkeys((model_id, model_id.split(":", 1)[0])):
            if not candidate:
                continue
            model = await self._model(candidate)
            priced = model is not None and None not in (model.prompt_price, model.completion_price)
            if priced:
                return model
        return None

    async def require_price(self, model_id: str) -> None:
        """``AIModelNotPricedError`` unless the catalogue prices ``model_id``, once it has been
        synced: under a budget, a call whose cost would be recorded as 0 would spend money the
        budget never sees. Before the first sync nothing is priced: calls go on at cost 0
        (and the warning says to sync)."""
        if await self.priced_model(model_id) is not None:
            return
        if not await self._ever_synced():
            return
        raise AIModelNotPricedError(
            f"the model {model_id[:_MODEL_LENGTH]!r} has no price in the model catalogue, and "
            "a monthly AI budget is on: its cost could not be counted. Use a model the "
            "catalogue lists with prices (GET /workscript/ai/models), or sync the catalogue",
            details={"model": model_id[:_MODEL_LENGTH]},
        )

    async def cost(
        self, models: Sequence[str], prompt_tokens: int, completion_tokens: int
    ) -> tuple[str, float]:
        """(the model priced, its cost in USD). ``models``: the ids to try in order (the one
        the provider says it used, then the one asked for); the first is kept when none has
        a price."""
        candidates = [m for m in dict.fromkeys(models) if m]
        for model_id in candidates:
            model = await self.priced_model(model_id)
            if model is None:
                continue
            assert model.prompt_price is not None and model.completion_price is not None
            cost = prompt_tokens * model.prompt_price + completion_tokens * model.completion_price
            return model_id, cost
        chosen = candidates[0] if candidates else ""
        if chosen not in self._warned:
            self._warned.add(chosen)
            log.warning(
                "AI usage: no price for model %r in the catalogue (sync it: POST "
                "/workscript/ai/models/sync); its completions are recorded at cost 0",
                chosen,
            )
        return chosen, 0.0
