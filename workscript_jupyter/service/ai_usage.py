"""What an AI completion costs, who pays, and the monthly budget that can refuse it.

- ``MonthlyBudget``: each user may spend ``monthly_usd`` per calendar month (UTC) on AI;
  a call when their spend has reached it is refused before any request is sent
  (``AIBudgetExceededError``: 429, ``Retry-After`` until the first of next month). The check
  reads the month's spend (one ``SUM`` over the owner's rows); calls already in flight when
  the budget runs out still finish, so the last ones may take a user a little past it.
- ``UsagePricing``: cost = prompt tokens * prompt price + completion tokens * completion
  price, the prices (USD per token) of the catalogue (a variant id such as ``…:nitro`` that
  it does not list: its base model's). A model the catalogue does not price costs 0 and is
  logged once per model; under a budget, once the catalogue has been synced, such a model is
  refused before any request (``AIModelNotPricedError``, 422): its spend could not be counted.
- ``BilledAIGateway``: the server's ``AIGateway`` for one caller (``ctx.services.ai`` of their
  runs): permission and budget → the provider (``DirectAIGateway``) → one ``ai_usage`` row
  (owner, workflow, run, node path, model, tokens, cost, duration) → the answer with its cost.
  A streamed answer interrupted after text arrived (the run cancelled, a broken stream) is
  billed too, from the characters sent and received: the provider bills it, and its text
  reached the run's watchers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from ..errors import AIBudgetExceededError, AIModelNotPricedError, ConfigurationError, StoreError
from ..store.base import Store
from ..store.records import AiModel, utcnow
from .common import store_call
from .values import Caller

__all__ = ["BilledAIGateway", "BudgetStatus", "ChatGateway", "MonthlyBudget", "UsagePricing"]

log = logging.getLogger(__name__)

_EXECUTION_ID_LENGTH: Final = 32
_WORKFLOW_ID_LENGTH: Final = 200
_NODE_PATH_LENGTH: Final = 500
_MODEL_LENGTH: Final = 200
# the rule of thumb for English text, used only to bill a stream that was interrupted
CHARS_PER_TOKEN: Final = 4


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

    async def priced_model(self, model_id: str) -> AiModel | None:
        """The catalogue's priced model for ``model_id``: itself, else the model it is a
        variant of (``openai/gpt-4o:nitro`` is billed as ``openai/gpt-4o``, which is what the
        provider lists; a variant it lists itself, such as ``:free``, keeps its own price)."""
        for candidate in dict.fromkeys((model_id, model_id.split(":", 1)[0])):
            if not candidate:
                continue
            model = await store_call(self._store.ai.get_model, candidate)
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
        if await store_call(self._store.ai.last_synced_at) is None:
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
        if self._budget.enabled:
            await self._pricing.require_price(model)
        where = {"execution_id": execution_id, "workflow_id": workflow_id, "node_path": node_path}
        received = _Received(on_text)
        try:
            answer = await self._direct.chat(
                model=model,
                messages=messages,
                options=options,
                on_text=received.on_text if on_text is not None else None,
                **where,
            )
        except BaseException:
            # a stream that broke or was cancelled (the run cancelled, a timeout) after text
            # arrived: the provider bills what it generated, and the text reached whoever
            # watched the run. Billed from an estimate, so cancelling just before the end is
            # not a way around the budget.
            if received.chars:
                await asyncio.shield(self._bill_interrupted(model, messages, received.chars, where))
            raise
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
            duration_ms=answer.get("durationMs"),
            **where,
        )
        return {**answer, "cost": cost}

    async def _bill_interrupted(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        chars: int,
        where: Mapping[str, str],
    ) -> None:
        """The usage row of an interrupted stream: tokens estimated from the characters sent
        and received (about ``CHARS_PER_TOKEN`` each). Never raises: the call's own error
        is what the run sees."""
        try:
            prompt = _estimated_tokens(sum(_chars(m.get("content")) for m in messages))
            completion = _estimated_tokens(chars)
            priced, cost = await self._pricing.cost([model], prompt, completion)
            await self._record(
                model=priced or model,
                prompt=prompt,
                completion=completion,
                cost=cost,
                duration_ms=None,
                **where,
            )
        except Exception:  # the interruption, not this, is the run's error
            log.exception("AI usage of an interrupted stream of user %s", self._caller.user_id)

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


class _Received:
    """How many characters of a streamed answer have reached ``on_text`` so far."""

    __slots__ = ("_on_text", "chars")

    def __init__(self, on_text: Callable[[str], None] | None) -> None:
        self._on_text = on_text
        self.chars = 0

    def on_text(self, text: str) -> None:
        self.chars = len(text)
        if self._on_text is not None:
            self._on_text(text)


def _chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    try:
        return len(json.dumps(content, default=str))  # a list of parts
    except (TypeError, ValueError):
        return 0


def _estimated_tokens(chars: int) -> int:
    return min(-(-chars // CHARS_PER_TOKEN), 2**31 - 1)


def _tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return min(value, 2**31 - 1)  # the column is an INT
