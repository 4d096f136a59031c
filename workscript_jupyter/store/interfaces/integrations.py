"""Integrations with outside accounts (OAuth tokens, encrypted) and the OAuth states of
logins in progress."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from ..records import Integration, OAuthState, Scope

__all__ = ["INTEGRATION_FIELDS", "IntegrationStore"]

_List = list  # the classes below define a method named list

INTEGRATION_FIELDS = frozenset({"account_email", "scopes", "token_encrypted", "expires_at"})


class IntegrationStore(ABC):
    @abstractmethod
    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration: ...

    @abstractmethod
    def get(self, scope: Scope, integration_id: str) -> Integration: ...

    @abstractmethod
    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration: ...

    @abstractmethod
    def delete(self, scope: Scope, integration_id: str) -> None: ...

    @abstractmethod
    def list(self, scope: Scope, *, provider: str | None = None) -> _List[Integration]: ...

    @abstractmethod
    def save_oauth_state(self, state: OAuthState) -> None: ...

    @abstractmethod
    def pop_oauth_state(self, state: str, now: datetime) -> OAuthState | None:
        """The state, removed so it can be used once; None if unknown or expired."""
