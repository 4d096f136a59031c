"""Saved workflows: create, read, update, delete and list, scoped by owner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..records import Page, Scope, WorkflowRecord

__all__ = ["WORKFLOW_FIELDS", "WorkflowStore"]

WORKFLOW_FIELDS = frozenset({"name", "description", "version", "definition"})


class WorkflowStore(ABC):
    @abstractmethod
    def create(
        self,
        scope: Scope,
        *,
        name: str,
        definition: dict[str, Any],
        description: str = "",
        version: str = "1.0.0",
        id: str | None = None,
    ) -> WorkflowRecord:
        """Owned by ``scope.user_id``. An ``id`` already taken is a ConflictError."""

    @abstractmethod
    def get(self, scope: Scope, workflow_id: str) -> WorkflowRecord: ...

    @abstractmethod
    def update(self, scope: Scope, workflow_id: str, **changes: Any) -> WorkflowRecord:
        """Changes among WORKFLOW_FIELDS; ``updated_at`` is set."""

    @abstractmethod
    def delete(self, scope: Scope, workflow_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        name_contains: str | None = None,
    ) -> Page: ...
