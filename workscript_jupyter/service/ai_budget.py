"""``MonthlyBudget``: USD each user may spend on AI per calendar month (UTC).

A call when the user's spend has reached the budget is refused before any request is sent
(``AIBudgetExceededError``: 429, ``Retry-After`` until the first of next month).

The check must not cost a database read per call (an ``ask-ai`` node in a loop, twenty runs at
once): the month's spend of each user is read from the store (one ``SUM`` over the owner's rows)
at most every ``refresh_seconds`` (5 s), and what this process bills meanwhile is added to it as
each usage row is stored. So the check is exact for what this process spends, and sees what other
servers and workers spend within ``refresh_seconds``. Calls already in flight when the budget runs
out still finish, so the last ones may take a user a little past it (docs/ai.md says how far).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from ..errors import AIBudgetExceededError, ConfigurationError
from ..store.base import Store
from ..store.records import utcnow
from .common import store_call

__all__ = ["MAX_KNOWN_USERS", "REFRESH_SECONDS", "BudgetStatus", "MonthlyBudget", "month_of"]

REFRESH_SECONDS: Final = 5.0
MAX_KNOWN_USERS: Final = 10_000


@dataclass(slots=True)
class _Spend:
    period_start: datetime
    spent: float
    read_at: float  # time.monotonic() of the store read


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
        self,
        store: Store,
        monthly_usd: float,
        *,
        clock: Callable[[], datetime] = utcnow,
        refresh_seconds: float = REFRESH_SECONDS,
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
        self.refresh_seconds = refresh_seconds
        self._known: dict[str, _Spend] = {}  # this month's spend per user, as last read

    @property
    def enabled(self) -> bool:
        return self.monthly_usd > 0

    async def status(self, user_id: str) -> BudgetStatus:
        """This month's budget and spend, read from the store (what the REST API shows)."""
        start, reset = month_of(self._clock())
        spent = await store_call(self._store.ai.spent_since, user_id, start)
        self._remember(user_id, start, spent)
        budget = self.monthly_usd if self.enabled else None
        remaining = max(0.0, budget - spent) if budget is not None else None
        return BudgetStatus(user_id, budget, spent, remaining, start, reset)

    async def check(self, user_id: str) -> None:
        """``AIBudgetExceededError`` when ``user_id`` has spent this month's budget."""
        if not self.enabled:
            return
        start, reset = month_of(self._clock())
        known = self._known.get(user_id)
        if (
            known is not None
            and known.period_start == start
            and time.monotonic() - known.read_at < self.refresh_seconds
        ):
            spent = known.spent
        else:
            spent = (await self.status(user_id)).spent
        if spent < self.monthly_usd:
            return
        resets = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        wait = max(1.0, (reset - self._clock()).total_seconds())
        raise AIBudgetExceededError(
            f"the AI budget of ${self.monthly_usd:.2f} for this month is used up "
            f"(${spent:.4f} spent); it resets at {resets}",
            retry_after=wait,
            details={"budget": self.monthly_usd, "spent": spent, "resetsAt": resets},
        )

    def spent(self, user_id: str, cost: float) -> None:
        """``user_id`` was billed ``cost`` (its usage row is stored): the next check counts it
        without reading the store again."""
        known = self._known.get(user_id)
        if known is not None and known.period_start == month_of(self._clock())[0]:
            known.spent += cost

    def _remember(self, user_id: str, period_start: datetime, spent: float) -> None:
        if len(self._known) >= MAX_KNOWN_USERS and user_id not in self._known:
            self._known.clear()  # bounded: the next checks read the store again
        self._known[user_id] = _Spend(period_start, spent, time.monotonic())
