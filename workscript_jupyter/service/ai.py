"""``AiService``: AI on the server — the model catalogue, usage and budgets, and the gateway
each caller's runs use (``ctx.services.ai``).

Built by ``WorkscriptService`` from ``AiSettings``. With an API key it owns ONE
``OpenRouterClient`` (one pooled ``httpx`` client for the whole server, closed by ``stop``),
the ``DirectAIGateway`` over it, and the background catalogue sync (``ai_catalogue.py``).
Without a key the service still answers what the database knows: the models of the last
sync, past usage and budgets; syncing is refused with MISSING_API_KEY (503) and runs get no
AI gateway (``ask-ai`` takes its error edge).

Who sees what: the catalogue is the same for everyone (``ai:read``); usage is scoped like every
record — a user sees their own, an admin everyone's or one user's (``user_id``); a non-admin
asking for another user's usage is refused (403), never silently shown their own. Syncing on
demand needs ``ai:manage`` (admins).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from ..errors import AIMissingKeyError, BadRequestError, PermissionDeniedError
from ..integrations.ai_gateway import DirectAIGateway
from ..integrations.openrouter import OpenRouterClient
from ..integrations.openrouter_types import AIConfig
from ..scheduler.lock_base import LeaderLock
from ..store.base import Store
from ..store.interfaces.ai import USAGE_GROUPS, UsageGroup
from ..store.records import AiModel, utcnow
from .ai_budget import BudgetStatus, MonthlyBudget, month_of
from .ai_catalogue import AiCatalogue, SyncReport
from .ai_prices import UsagePricing
from .ai_usage import BilledAIGateway
from .ai_usage_writer import UsageWriter
from .common import store_call
from .values import Caller

__all__ = ["MAX_MODEL_PAGE", "MAX_USAGE_DAYS", "AiService", "AiSettings", "ModelPage", "UsageView"]

MAX_MODEL_PAGE: Final = 1_000
MAX_USAGE_DAYS: Final = 366
PER_MILLION: Final = 1_000_000
_NAME = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,49}$")
_MAX_CONTEXT: Final = 100_000_000


@dataclass(frozen=True, slots=True)
class AiSettings:
    """``config``: how to reach the provider (None, or no key: AI is not configured);
    ``model_sync_interval``: seconds between catalogue syncs (0: none in the background);
    ``monthly_budget_usd``: per user and calendar month (0: none); ``sync_lock``: makes the
    lock the servers of one database share for the sync (None: this process alone)."""

    config: AIConfig | None = None
    model_sync_interval: float = 86_400.0
    monthly_budget_usd: float = 0.0
    sync_lock: Callable[[], LeaderLock] | None = None

    @property
    def configured(self) -> bool:
        return self.config is not None and self.config.has_key


@dataclass(frozen=True, slots=True)
class ModelPage:
    models: tuple[AiModel, ...]
    next_cursor: str | None
    last_synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class UsageView:
    by: str
    since: datetime
    until: datetime
    user_id: str | None
    groups: tuple[UsageGroup, ...]


class AiService:
    """The AI use cases of the server (see the module docstring)."""

    def __init__(
        self, store: Store, settings: AiSettings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._store = store
        self._clock = clock
        self.settings = settings
        self.client: OpenRouterClient | None = None
        self.direct: DirectAIGateway | None = None
        if settings.configured:
            assert settings.config is not None
            self.client = OpenRouterClient(settings.config)
            self.direct = DirectAIGateway(self.client)
        self.budget = MonthlyBudget(store, settings.monthly_budget_usd, clock=clock)
        self.pricing = UsagePricing(store)
        self.writer = UsageWriter(store)  # usage rows of calls ending together: one commit
        self.catalogue = AiCatalogue(
            store,
            self.client.models if self.client is not None else None,
            lock=settings.sync_lock() if settings.sync_lock and settings.configured else None,
            interval_seconds=settings.model_sync_interval,
            clock=clock,
            on_synced=self.pricing.forget,
        )

    @property
    def configured(self) -> bool:
        return self.direct is not None

    # -- life cycle

    def start(self) -> None:
        self.catalogue.start()

    async def stop(self) -> None:
        await self.catalogue.stop()
        await self.writer.close()  # the usage rows of the last calls
        if self.client is not None:
            await self.client.aclose()

    # -- runs

    def gateway_for(self, caller: Caller) -> BilledAIGateway | None:
        """``ctx.services.ai`` of ``caller``'s runs (None when AI is not configured)."""
        if self.direct is None:
            return None
        return BilledAIGateway(
            caller, self.direct, writer=self.writer, budget=self.budget, pricing=self.pricing
        )

    # -- the catalogue

    async def list_models(
        self,
        caller: Caller,
        *,
        provider: str | None = None,
        modality: str | None = None,
        min_context_length: int | None = None,
        max_price_per_million: float | None = None,
        include_inactive: bool = False,
        cursor: str | None = None,
        limit: int = 500,
    ) -> ModelPage:
        """Models by id, filtered; ``max_price_per_million``: USD per million prompt tokens."""
        caller.require("ai:read")
        provider = _name("provider", provider)
        modality = _name("modality", modality)
        if min_context_length is not None and not 0 <= min_context_length <= _MAX_CONTEXT:
            raise _bad("minContextLength", f"must be from 0 to {_MAX_CONTEXT} tokens")
        if max_price_per_million is not None and (
            not math.isfinite(max_price_per_million) or max_price_per_million < 0
        ):
            raise _bad("maxPrice", "must be a number >= 0 (USD per million prompt tokens)")
        if not 1 <= limit <= MAX_MODEL_PAGE:
            raise _bad("limit", f"must be from 1 to {MAX_MODEL_PAGE}")
        if cursor is not None and len(cursor) > 200:
            raise _bad("cursor", "is not a model id")
        found = await store_call(
            self._store.ai.list_models,
            provider=provider,
            modality=modality,
            min_context_length=min_context_length,
            max_prompt_price=(
                max_price_per_million / PER_MILLION if max_price_per_million is not None else None
            ),
            include_inactive=include_inactive,
            after=cursor,
            limit=limit + 1,
        )
        last = await store_call(self._store.ai.last_synced_at)
        more = len(found) > limit
        models = tuple(found[:limit])
        return ModelPage(models, models[-1].id if more and models else None, last)

    async def sync_models(self, caller: Caller) -> SyncReport:
        """Sync the catalogue now (admins: ``ai:manage``); MISSING_API_KEY without a key."""
        caller.require("ai:manage")
        if not self.configured:
            raise AIMissingKeyError(
                "no OpenRouter API key is configured: set OPENROUTER_API_KEY on the server"
            )
        return await self.catalogue.sync()

    # -- usage and budgets

    async def usage(
        self,
        caller: Caller,
        *,
        by: str = "model",
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> UsageView:
        """The caller's usage (an admin's: everyone's, or ``user_id``'s) in ``[since, until)``
        grouped by model, day or user; by default this calendar month (UTC) until now."""
        caller.require("ai:read")
        if by not in USAGE_GROUPS:
            raise _bad("by", f"must be one of {', '.join(USAGE_GROUPS)}")
        user_id = self._visible_user(caller, user_id)
        now = self._clock()
        since = since if since is not None else month_of(now)[0]
        until = until if until is not None else now + timedelta(microseconds=1)
        if since >= until:
            raise _bad("from", "must be before to")
        if until - since > timedelta(days=MAX_USAGE_DAYS):
            raise _bad("to", f"a period of at most {MAX_USAGE_DAYS} days")
        groups = await store_call(
            self._store.ai.usage_summary,
            caller.scope,
            by=by,  # checked above
            since=since,
            until=until,
            user_id=user_id,
        )
        return UsageView(by, since, until, user_id, tuple(groups))

    async def budget_of(self, caller: Caller, user_id: str | None = None) -> BudgetStatus:
        """This month's budget, spend and what is left: the caller's own, or (admins) a
        user's."""
        caller.require("ai:read")
        return await self.budget.status(self._visible_user(caller, user_id) or caller.user_id)

    @staticmethod
    def _visible_user(caller: Caller, user_id: str | None) -> str | None:
        if user_id is None or user_id == caller.user_id:
            return user_id
        if not caller.is_admin:
            raise PermissionDeniedError(
                "only an admin may see another user's AI usage",
                details={"field": "userId"},
            )
        if len(user_id) > 64:
            raise _bad("userId", "is not a user id")
        return user_id


def _name(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if not _NAME.match(lowered):
        raise _bad(field, "must be a name such as 'openai' or 'image' (letters, digits, -._:)")
    return lowered


def _bad(field: str, message: str) -> BadRequestError:
    return BadRequestError(f"{field} {message}", details=[{"field": field, "message": message}])
