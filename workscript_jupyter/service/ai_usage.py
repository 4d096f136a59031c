"""What an AI completion costs, who pays, and the monthly budget that can refuse it.

- ``MonthlyBudget``: each user may spend ``monthly_usd`` per calendar month (UTC) on AI;
  a call when their spend has reached it is refused before any request is sent
  (``AIBudgetExceededError``: 429, ``Retry-After`` until the first of next month). The check
  reads the month's spend (one ``SUM`` over the owner's rows); calls already in flight when
  the budget runs out still finish, so the last ones may take a user a little past it.
- ``UsagePricing``: cost = prompt tokens * prompt price + completion tokens * completion
  price, the prices (USD per token) of the catalogue. A model the catalogue does not know, or
  whose price it does not know, costs 0 and is logged once per model.
- ``BilledAIGateway``: the server's ``AIGateway`` for one caller (``ctx.services.ai`` of their
  runs): permission and budget → the provider (``DirectAIGateway``) → one ``ai_usage`` row
  (owner, workflow, run, node path, model, tokens, cost, duration) → the answer with its cost.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from ..errors import AIBudgetExceededError, ConfigurationError, StoreError
from ..store.base import Store
from ..store.records import utcnow
from .common import store_call
from .values import Caller

__all__ = ["BilledAIGateway", "BudgetStatus", "ChatGateway", "MonthlyBudget", "UsagePricing"]

log = logging.getLogger(__name__)

_EXECUTION_ID_LENGTH: Final = 32
_WORKFLOW_ID_LENGTH: Final = 200
_NODE_PATH_LENGTH: Final = 500
_MODEL_LENGTH: Final = 200


class ChatGateway(Protocol):
    """What ``BilledAIGateway`` wraps: ``integrations.ai_gateway.DirectAIGateway``."""

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]: ...


# -- the budget -------------------------------------------------------------------------------


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding ``now``: its first instant and the next month's."""
    now = now.astimezone(UTC)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return start, datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One user's month: ``budget`` None when there is none (``remaining`` None too)."""

    user_id: str
    budget: float | None
    spent: float
    remaining: float | None
    period_start: datetime
    resets_at: datetime


class MonthlyBudget:
    """USD each user may spend on AI per calendar month (UTC); 0 turns budgets off."""

    def __init__(
        self, store: Store, monthly_usd: float, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        if (
            isinstance(monthly_usd, bool)
            or not isinstance(monthly_usd, int | float)
            or not math.isfinite(monthly_usd)
            or monthly_usd < 0
        ):
            raise ConfigurationError(
                f"ai_monthly_budget_usd must be a number >= 0 (0: no budget), not {monthly_usd!r}"
            )
        self._store = store
        self.monthly_usd = float(monthly_usd)
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.monthly_usd > 0

    async def status(self, user_id: str) -> BudgetStatus:
        start, reset = month_of(self._clock())
        spent = await store_call(self._store.ai.spent_since, user_id, start)
        budget = self.monthly_usd if self.enabled else None
        remaining = max(0.0, budget - spent) if budget is not None else None
        return BudgetStatus(user_id, budget, spent, remaining, start, reset)

    async def check(self, user_id: str) -> None:
        """``AIBudgetExceededError`` when ``user_id`` has spent this month's budget."""
        if not self.enabled:
            return
        status = await self.status(user_id)
        if status.spent < self.monthly_usd:
            return
        resets = status.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        wait = max(1.0, (status.resets_at - self._clock()).total_seconds())
        raise AIBudgetExceededError(
            f"the AI budget of ${self.monthly_usd:.2f} for this month is used up "
            f"(${status.spent:.4f} spent); it resets at {resets}",
            retry_after=wait,
            details={"budget": self.monthly_usd, "spent": status.spent, "resetsAt": resets},
        )


# -- prices -----------------------------------------------------------------------------------


class UsagePricing:
    """The cost of a completion from the catalogue's prices (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._warned: set[str] = set()

    async def cost(
        self, models: Sequence[str], prompt_tokens: int, completion_tokens: int
    ) -> tuple[str, float]:
        """(the model priced, its cost in USD). ``models``: the ids to try in order (the one
        the provider says it used, then the one asked for); the first is kept when none has
        a price."""
        candidates = [m for m in dict.fromkeys(models) if m]
        for model_id in candidates:
            model = await store_call(self._store.ai.get_model, model_id)
            if model is None or model.prompt_price is None or model.completion_price is None:
                continue
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


# -- the gateway of one caller ----------------------------------------------------------------


class BilledAIGateway:
    """``ctx.services.ai`` of ``caller``'s runs (see the module docstring)."""

    def __init__(
        self,
        caller: Caller,
        direct: ChatGateway,
        *,
        store: Store,
        budget: MonthlyBudget,
        pricing: UsagePricing,
    ) -> None:
        self._caller = caller
        self._direct = direct
        self._store = store
        self._budget = budget
        self._pricing = pricing

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        options: Mapping[str, Any],
        execution_id: str = "",
        workflow_id: str = "",
        node_path: str = "",
        on_text: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        self._caller.require("ai:use")  # a key made without it may not spend its owner's money
        await self._budget.check(self._caller.user_id)  # before any request
        answer = await self._direct.chat(
            model=model,
            messages=messages,
            options=options,
            execution_id=execution_id,
            workflow_id=workflow_id,
            node_path=node_path,
            on_text=on_text,
        )
        raw_usage = answer.get("usage")
        usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, Mapping) else {}
        prompt = _tokens(usage.get("promptTokens"))
        completion = _tokens(usage.get("completionTokens"))
        answered = str(answer.get("model") or model)
        priced, cost = await self._pricing.cost([answered, model], prompt, completion)
        await self._record(
            model=priced or answered,
            prompt=prompt,
            completion=completion,
            cost=cost,
            execution_id=execution_id,
            workflow_id=workflow_id,
            node_path=node_path,
            duration_ms=answer.get("durationMs"),
        )
        return {**answer, "cost": cost}

    async def _record(
        self,
        *,
        model: str,
        prompt: int,
        completion: int,
        cost: float,
        execution_id: str,
        workflow_id: str,
        node_path: str,
        duration_ms: Any,
    ) -> None:
        """The usage row. The answer is paid for: a store that fails now is logged, and the
        run keeps its answer (its own writes will meet the same outage)."""
        duration = (
            float(duration_ms)
            if isinstance(duration_ms, int | float) and not isinstance(duration_ms, bool)
            else None
        )
        try:
            await store_call(
                self._store.ai.add_usage,
                self._caller.scope,
                model=model[:_MODEL_LENGTH],
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=cost,
                execution_id=(execution_id or None) and execution_id[:_EXECUTION_ID_LENGTH],
                workflow_id=(workflow_id or None) and workflow_id[:_WORKFLOW_ID_LENGTH],
                node_path=(node_path or None) and node_path[:_NODE_PATH_LENGTH],
                duration_ms=duration,
            )
        except StoreError as error:
            log.error(
                "AI usage of user %s (%s, $%.6f) could not be recorded: %s",
                self._caller.user_id,
                model,
                cost,
                error.message,
            )


def _tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, 2**31 - 1)  # the column is an INT
