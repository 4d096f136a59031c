"""Users: accounts found by name, email or an outside identity; not owned by anyone."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from ..records import Page, User

__all__ = ["USER_FIELDS", "UserStore"]

USER_FIELDS = frozenset(
    {"username", "email", "display_name", "roles", "is_active", "external_id", "last_login_at"}
)


class UserStore(ABC):
    """Users are not owned; the service layer decides who may call what."""

    @abstractmethod
    def create(
        self,
        username: str,
        *,
        email: str | None = None,
        password_hash: str | None = None,
        roles: Iterable[str] = ("user",),
        display_name: str | None = None,
        source: str = "local",
        external_id: str | None = None,
    ) -> User:
        """A username or email already taken (case-insensitive) is a ConflictError."""

    @abstractmethod
    def get(self, user_id: str) -> User: ...

    @abstractmethod
    def find(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        source: str | None = None,
        external_id: str | None = None,
    ) -> User | None:
        """By username or email (case-insensitive), or by (source, external_id)."""

    @abstractmethod
    def update(self, user_id: str, **changes: Any) -> User:
        """Changes among USER_FIELDS."""

    @abstractmethod
    def delete(self, user_id: str) -> None:
        """Also deletes the user's sessions, tokens, keys and resets."""

    @abstractmethod
    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page: ...

    @abstractmethod
    def get_password_hash(self, user_id: str) -> str | None: ...

    @abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str | None) -> None: ...
