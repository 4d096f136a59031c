"""AI models (their prices) and the usage each user's runs make of them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..records import AiModel, AiUsage, Page, Scope

__all__ = ["AiStore"]

_List = list  # the classes below define a method named list


class AiStore(ABC):
    @abstractmethod
    def upsert_models(self, models: Iterable[AiModel]) -> int: ...

    @abstractmethod
    def list_models(self) -> _List[AiModel]: ...

    @abstractmethod
    def add_usage(
        self,
        scope: Scope,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        execution_id: str | None = None,
    ) -> AiUsage: ...

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
