"""AI over REST: the model catalogue, its sync, usage and the monthly budget.

- ``GET /workscript/ai/models`` (``ai:read``) — the catalogue by id: ``provider``,
  ``modality`` (an input modality), ``minContextLength``, ``maxPrice`` (USD per million prompt
  tokens), ``includeInactive``; ``limit`` (1..1000, 500) and ``cursor`` (``nextCursor``).
  Answers from the database even when no API key is configured (``configured`` says so).
- ``POST /workscript/ai/models/sync`` (``ai:manage``: admins) — sync now; 503
  MISSING_API_KEY without a key.
- ``GET /workscript/ai/usage`` (``ai:read``) — totals grouped ``by`` model, day or user over
  ``from``..``to`` (dates or ISO times; a date ``to`` includes its day; default: this month).
  A user sees their own usage; an admin everyone's, or one user's with ``userId``; anyone else
  asking for another user gets 403.
- ``GET /workscript/ai/usage/budget`` (``ai:read``) — this month's budget, spend, remainder.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import AIMissingKeyError
from ..base import WorkscriptHandler, bad_request
from ..serialize import iso

if TYPE_CHECKING:
    from ...service.ai import AiService
    from ...service.ai_budget import BudgetStatus
    from ...store.interfaces.ai import UsageGroup
    from ...store.records import AiModel

__all__ = ["ROUTES", "AiBudgetHandler", "AiModelsHandler", "AiModelsSyncHandler", "AiUsageHandler"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PER_MILLION = 1_000_000
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class _AiBase(WorkscriptHandler):
    auth_resource = "workscript:ai"

    @property
    def ai(self) -> AiService:
        service = self.workscript.get("ai")
        if service is None:
            raise AIMissingKeyError("AI is not available on this server")
        return service  # type: ignore[no-any-return]

    def query_number(self, name: str) -> float | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return None
        try:
            return float(raw)
        except ValueError:
            raise bad_request(f"{name} must be a number, not {raw[:40]!r}") from None

    def query_bool(self, name: str) -> bool:
        raw = (self.get_query_argument(name, None) or "false").strip().lower()
        if raw not in _BOOLEANS:
            raise bad_request(f"{name} must be true or false, not {raw[:40]!r}")
        return _BOOLEANS[raw]

    def query_day_or_time(self, name: str, *, end_of_day: bool) -> datetime | None:
        """A date (``2024-08-01``: its first instant, or with ``end_of_day`` the next day's)
        or an ISO 8601 time (UTC unless it says otherwise), from 1970 to 9999-01-01 UTC (the
        calendar's edges would overflow when shifted to UTC or to the next day)."""
        raw = (self.get_query_argument(name, None) or "").strip()
        if not raw:
            return None
        try:
            if _DATE.match(raw):
                value = datetime.fromisoformat(raw).replace(tzinfo=UTC)
                if end_of_day:
                    value += timedelta(days=1)
            else:
                value = datetime.fromisoformat(raw)
                if value.tzinfo is None:
                    value = value.replace(tzinfo=UTC)
            value = value.astimezone(UTC)
        except (ValueError, OverflowError):
            raise bad_request(
                f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, not {raw[:40]!r}",
                [{"field": name, "message": "not a date or an ISO 8601 time"}],
            ) from None
        if not _EARLIEST <= value <= _LATEST:
            raise bad_request(
                f"{name} must be between 1970-01-01 and 9999-01-01, not {raw[:40]!r}",
                [{"field": name, "message": "out of range"}],
            )
        return value


class AiModelsHandler(_AiBase):
    permissions = {"GET": "ai:read"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        min_context = self.query_int("minContextLength", -1, low=0, high=100_000_000)
        page = await self.ai.list_models(
            await self.caller(),
            provider=self.query_str("provider"),
            modality=self.query_str("modality"),
            min_context_length=min_context if min_context >= 0 else None,
            max_price_per_million=self.query_number("maxPrice"),
            include_inactive=self.query_bool("includeInactive"),
            cursor=self.query_str("cursor"),
            limit=self.query_int("limit", 500, low=1, high=1000),
        )
        self.write_json(
            {
                "items": [model_json(model) for model in page.models],
                "count": len(page.models),
                "nextCursor": page.next_cursor,
                "lastSyncedAt": iso(page.last_synced_at),
                "configured": self.ai.configured,
            }
        )


class AiModelsSyncHandler(_AiBase):
    permissions = {"POST": "ai:manage"}

    @web.authenticated
    @authorized
    async def post(self) -> None:
        report = await self.ai.sync_models(await self.caller())
        self.write_json(
            {"models": report.models, "skipped": report.skipped, "syncedAt": iso(report.synced_at)}
        )


class AiUsageHandler(_AiBase):
    permissions = {"GET": "ai:read"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        view = await self.ai.usage(
            await self.caller(),
            by=self.query_str("by") or "model",
            since=self.query_day_or_time("from", end_of_day=False),
            until=self.query_day_or_time("to", end_of_day=True),
            user_id=self.query_str("userId"),
        )
        items = [group_json(group, by_user=view.by == "user") for group in view.groups]
        totals = {
            name: sum(item[name] for item in items)
            for name in ("requests", "promptTokens", "completionTokens", "totalTokens")
        }
        totals["cost"] = sum(group.cost for group in view.groups)
        self.write_json(
            {
                "by": view.by,
                "from": iso(view.since),
                "to": iso(view.until),
                "userId": view.user_id,
                "items": items,
                "totals": totals,
            }
        )


class AiBudgetHandler(_AiBase):
    permissions = {"GET": "ai:read"}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        status = await self.ai.budget_of(await self.caller(), self.query_str("userId"))
        self.write_json(budget_json(status))


# -- JSON shapes -------------------------------------------------------------------------------


def model_json(model: AiModel) -> dict[str, Any]:
    """A model; prices in USD per million tokens (None: unknown)."""
    return {
        "id": model.id,
        "name": model.name,
        "provider": model.provider,
        "description": model.description,
        "contextLength": model.context_length,
        "maxCompletionTokens": model.max_completion_tokens,
        "inputModalities": list(model.input_modalities),
        "outputModalities": list(model.output_modalities),
        "promptPricePerMillion": _per_million(model.prompt_price),
        "completionPricePerMillion": _per_million(model.completion_price),
        "isActive": model.is_active,
        "updatedAt": iso(model.updated_at),
    }


def group_json(group: UsageGroup, *, by_user: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": group.key,
        "requests": group.requests,
        "promptTokens": group.prompt_tokens,
        "completionTokens": group.completion_tokens,
        "totalTokens": group.prompt_tokens + group.completion_tokens,
        "cost": group.cost,
    }
    if by_user:
        body["username"] = group.label
    return body


def budget_json(status: BudgetStatus) -> dict[str, Any]:
    return {
        "userId": status.user_id,
        "enabled": status.budget is not None,
        "budget": status.budget,
        "spent": status.spent,
        "remaining": status.remaining,
        "periodStart": iso(status.period_start),
        "resetsAt": iso(status.resets_at),
    }


def _per_million(price: float | None) -> float | None:
    return None if price is None else round(price * _PER_MILLION, 9)


ROUTES: list[tuple[str, Any]] = [
    (r"/workscript/ai/models", AiModelsHandler),
    (r"/workscript/ai/models/sync", AiModelsSyncHandler),
    (r"/workscript/ai/usage", AiUsageHandler),
    (r"/workscript/ai/usage/budget", AiBudgetHandler),
]
