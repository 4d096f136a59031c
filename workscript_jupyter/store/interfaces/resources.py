"""Resources: text files a user keeps in the store, one per owner and path."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ..records import Page, Resource, Scope

__all__ = ["RESOURCE_FIELDS", "ResourceStore"]

RESOURCE_FIELDS = frozenset({"path", "content", "content_type"})


class ResourceStore(ABC):
    @abstractmethod
    def create(
        self, scope: Scope, *, path: str, content: str, content_type: str = "text/plain"
    ) -> Resource:
        """One resource per owner and path: a second is a ConflictError."""

    @abstractmethod
    def get(self, scope: Scope, resource_id: str) -> Resource: ...

    @abstractmethod
    def get_by_path(self, scope: Scope, path: str) -> Resource: ...

    @abstractmethod
    def update(self, scope: Scope, resource_id: str, **changes: Any) -> Resource: ...

    @abstractmethod
    def delete(self, scope: Scope, resource_id: str) -> None: ...

    @abstractmethod
    def list(
        self,
        scope: Scope,
        *,
        path_prefix: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page: ...
