"""Users: accounts found by name, email or an outside identity; not owned by anyone."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from ..records import Page, User

__all__ = ["USER_FIELDS", "UserStore", "string_tuple"]

USER_FIELDS = frozenset(
    {
        "username",
        "email",
        "display_name",
        "roles",
        "permissions",
        "is_active",
        "external_id",
        "last_login_at",
    }
)


def string_tuple(value: Any, name: str) -> tuple[str, ...]:
    """A list of strings (roles, permissions, a key's scopes) as the records keep it.

    Both backends call it, so they refuse the same values: a lone string would otherwise be
    taken for its characters (``"workflow:read"`` as 13 one-letter permissions), and None for a
    list clears it (an empty tuple, never None in a record).
    """
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of strings, not {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{name} must be a list of strings, not one holding {item!r}")
    return items


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
        permissions: Iterable[str] = (),
    ) -> User:
        """A username or email already taken (case-insensitive) is a ConflictError.
        ``permissions``: extra permission strings beyond those of the user's roles."""

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
        """Changes among USER_FIELDS (a new email or username keeps its case-insensitive
        uniqueness); anything else is a ValueError naming the field, and nothing is written."""

    @abstractmethod
    def delete(self, user_id: str) -> None:
        """Also deletes the user's sessions, refresh tokens (every family), keys and resets."""

    @abstractmethod
    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page: ...

    @abstractmethod
    def get_password_hash(self, user_id: str) -> str | None: ...

    @abstractmethod
    def set_password_hash(self, user_id: str, password_hash: str | None) -> None: ...
