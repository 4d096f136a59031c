"""AI models (the provider's catalogue, with prices) and the usage each user's runs make of them.

The catalogue is global (every user reads the same models); usage rows are owned by the user
whose run asked (the run's owner pays). Prices are USD per token, as the table keeps them; the
REST layer shows them per million tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from ..records import AiModel, AiUsage, Page, Scope, new_id, utcnow

__all__ = ["USAGE_GROUPS", "AiStore", "UsageGroup", "UsageGrouping"]

_List = list  # the classes below define a method named list

UsageGrouping = Literal["model", "day", "user"]
USAGE_GROUPS: Final[tuple[UsageGrouping, ...]] = ("model", "day", "user")


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The totals of one group of usage rows: one model, one UTC day (``YYYY-MM-DD``) or one
    user (``key`` is the user id, ``label`` their username when the user still exists)."""

    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    label: str | None = None


class AiStore(ABC):
    # -- the catalogue

    @abstractmethod
    def upsert_models(self, models: Iterable[AiModel], *, full_sync: bool = False) -> int:
        """Insert or replace ``models`` (by id); the count written. ``full_sync``: ``models``
        is the provider's whole list, so every stored model missing from it is marked
        inactive (kept: past usage keeps its price), in the same transaction."""

    @abstractmethod
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
    ) -> _List[AiModel]:
        """Models ordered by id. ``provider``: the vendor ("openai"); ``modality``: an input
        modality the model accepts ("image"); ``min_context_length`` in tokens;
        ``max_prompt_price`` in USD per prompt token (a model of unknown price never
        matches); inactive models only with ``include_inactive``. ``after``/``limit`` page by
        id: the models whose id sorts after ``after``, at most ``limit`` of them."""

    @abstractmethod
    def get_model(self, model_id: str) -> AiModel | None:
        """The model with this id, active or not; None when the catalogue has none."""

    @abstractmethod
    def last_synced_at(self) -> datetime | None:
        """When the catalogue was last written (the newest ``updated_at``); None if empty."""

    # -- usage

    def add_usage(
        self,
        scope: Scope,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        execution_id: str | None = None,
        workflow_id: str | None = None,
        node_path: str | None = None,
        duration_ms: float | None = None,
        created_at: datetime | None = None,
    ) -> AiUsage:
        """One completion billed to ``scope.user_id`` (``created_at``: now unless given; an
        aware time, as every time the store takes)."""
        if created_at is not None and (created_at.tzinfo is None or created_at.utcoffset() is None):
            raise ValueError(f"naive datetime {created_at!r}: the store takes UTC-aware times only")
        usage = AiUsage(
            id=new_id(),
            owner_id=scope.user_id,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            execution_id=execution_id,
            workflow_id=workflow_id,
            node_path=node_path,
            duration_ms=duration_ms,
            created_at=created_at.astimezone(UTC) if created_at is not None else utcnow(),
        )
        self.add_usages([usage])
        return usage

    @abstractmethod
    def add_usages(self, usages: Sequence[AiUsage]) -> None:
        """Completions already priced, each billed to its ``owner_id``, in one transaction
        (the server writes them in groups: one commit for many calls)."""

    @abstractmethod
    def list_usage(
        self,
        scope: Scope,
        *,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...

    @abstractmethod
    def usage_totals(self, scope: Scope, *, since: datetime | None = None) -> dict[str, Any]:
        """``{"requests", "prompt_tokens", "completion_tokens", "cost", "by_model": {...}}``."""

    @abstractmethod
    def usage_summary(
        self,
        scope: Scope,
        *,
        by: UsageGrouping,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> _List[UsageGroup]:
        """The scope's usage in ``[since, until)`` grouped ``by`` model, UTC day or user,
        ordered by key, computed by the database (never by reading every row). ``user_id``
        narrows an admin's view to one user (a non-admin's scope already is one user)."""

    @abstractmethod
    def spent_since(self, owner_id: str, since: datetime) -> float:
        """USD that ``owner_id``'s completions cost from ``since`` on (the budget check)."""
