"""AI models and usage in memory: the same rules as ``store/sql/ai.py`` (filters, inactive
models after a full sync, summaries per model, day or user, the owner's spend)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..base import AiStore
from ..interfaces.ai import USAGE_GROUPS, UsageGroup, UsageGrouping
from ..records import AiModel, AiUsage, Page, Scope
from ._state import Tables, detach, normalise_record, paginate, utc

__all__ = ["MemoryAi"]


class MemoryAi(AiStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    # -- the catalogue

    def upsert_models(self, models: Iterable[AiModel], *, full_sync: bool = False) -> int:
        rows = [normalise_record(m) for m in models]
        listed = {row.id for row in rows}
        with self._t.lock:
            for row in rows:
                self._t.ai_models[row.id] = row
            if full_sync:
                for model_id, model in list(self._t.ai_models.items()):
                    if model_id not in listed and model.is_active:
                        self._t.ai_models[model_id] = replace(model, is_active=False)
        return len(rows)

    def list_models(
        self,
        *,
        provider: str | None = None,
        modality: str | None = None,
        min_context_length: int | None = None,
        max_prompt_price: float | None = None,
        include_inactive: bool = False,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[AiModel]:
        _check_limit(limit)

        def wanted(m: AiModel) -> bool:
            return (
                (include_inactive or m.is_active)
                and (provider is None or m.provider == provider)
                and (modality is None or modality in m.input_modalities)
                and (
                    min_context_length is None
                    or (m.context_length is not None and m.context_length >= min_context_length)
                )
                and (
                    max_prompt_price is None
                    or (m.prompt_price is not None and m.prompt_price <= max_prompt_price)
                )
                and (after is None or m.id > after)
            )

        with self._t.lock:
            rows = [detach(m) for _, m in sorted(self._t.ai_models.items()) if wanted(m)]
        return rows if limit is None else rows[:limit]

    def get_model(self, model_id: str) -> AiModel | None:
        with self._t.lock:
            model = self._t.ai_models.get(model_id)
            return detach(model) if model is not None else None

    def last_synced_at(self) -> datetime | None:
        with self._t.lock:
            return max((m.updated_at for m in self._t.ai_models.values()), default=None)

    # -- usage

    def add_usages(self, usages: Sequence[AiUsage]) -> None:
        with self._t.lock:
            for usage in usages:  # all or nothing, as one transaction would be
                self._t.require_user(usage.owner_id)
            for usage in usages:
                self._t.ai_usage[usage.id] = usage

    def _usage(
        self,
        scope: Scope,
        since: datetime | None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> list[AiUsage]:
        start, end = utc(since, "since"), utc(until, "until")
        return [
            u
            for u in self._t.ai_usage.values()
            if scope.allows(u.owner_id)
            and (user_id is None or u.owner_id == user_id)
            and (start is None or u.created_at >= start)
            and (end is None or u.created_at < end)
        ]

    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        with self._t.lock:
            return paginate(self._usage(scope, since), limit=limit, cursor=cursor)

    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        """Totals, and per model the same four figures."""
        with self._t.lock:
            rows = self._usage(scope, since)
        totals: dict[str, Any] = _zero()
        by_model: dict[str, dict[str, Any]] = {}
        for u in rows:
            for bucket in (totals, by_model.setdefault(u.model, _zero())):
                bucket["requests"] += 1
                bucket["prompt_tokens"] += u.prompt_tokens
                bucket["completion_tokens"] += u.completion_tokens
                bucket["cost"] += u.cost
        totals["by_model"] = by_model
        return totals

    def usage_summary(
        self,
        scope: Scope,
        *,
        by: UsageGrouping,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> list[UsageGroup]:
        key_of = _group_key(by)
        with self._t.lock:
            rows = self._usage(scope, since, until, user_id)
            names = {uid: user.username for uid, user in self._t.users.items()}
        groups: dict[str, dict[str, Any]] = {}
        for u in rows:
            bucket = groups.setdefault(key_of(u), _zero())
            bucket["requests"] += 1
            bucket["prompt_tokens"] += u.prompt_tokens
            bucket["completion_tokens"] += u.completion_tokens
            bucket["cost"] += u.cost
        return [
            UsageGroup(key, **values, label=names.get(key) if by == "user" else None)
            for key, values in sorted(groups.items())
        ]

    def spent_since(self, owner_id: str, since: datetime) -> float:
        start = utc(since, "since")
        assert start is not None
        with self._t.lock:
            return float(
                sum(
                    u.cost
                    for u in self._t.ai_usage.values()
                    if u.owner_id == owner_id and u.created_at >= start
                )
            )


def _zero() -> dict[str, Any]:
    return {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}


def _group_key(by: str) -> Callable[[AiUsage], str]:
    if by == "model":
        return lambda u: u.model
    if by == "day":
        return lambda u: u.created_at.date().isoformat()
    if by == "user":
        return lambda u: u.owner_id
    raise ValueError(f"usage can be grouped by {', '.join(USAGE_GROUPS)}, not {by!r}")


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, not {limit!r}")
