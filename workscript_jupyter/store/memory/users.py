"""Users in memory: found by name or email (case-insensitive) or by an outside identity."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ...errors import ConflictError, RecordNotFoundError
from ..base import USER_FIELDS, UserStore
from ..interfaces.users import string_tuple
from ..records import Page, User, utcnow
from ._state import Tables, check_changes, paginate

__all__ = ["MemoryUsers", "case_key"]


def case_key(value: str | None) -> str | None:
    """The case-insensitive form of a username or email (the SQL ``*_key`` columns)."""
    return None if value is None else value.lower()


class MemoryUsers(UserStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _check_unique(self, user: User) -> None:
        for other in self._t.users.values():
            if other.id == user.id:
                continue
            if case_key(other.username) == case_key(user.username):
                raise ConflictError(f"the username {user.username!r} is taken")
            if user.email is not None and case_key(other.email) == case_key(user.email):
                raise ConflictError(f"the email {user.email!r} is taken")
            if (
                user.external_id is not None
                and other.source == user.source
                and other.external_id == user.external_id
            ):
                raise ConflictError(f"a {user.source} user {user.external_id!r} already exists")

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
        user = User.new(
            username, email=email, roles=roles, display_name=display_name,
            source=source, external_id=external_id,
            permissions=string_tuple(permissions, "permissions"),
        )  # fmt: skip
        with self._t.lock:
            self._check_unique(user)
            self._t.users[user.id] = user
            self._t.password_hashes[user.id] = password_hash
        return user

    def _get(self, user_id: str) -> User:
        user = self._t.users.get(user_id)
        if user is None:
            raise RecordNotFoundError("user", user_id)
        return user

    def get(self, user_id: str) -> User:
        with self._t.lock:
            return self._get(user_id)

    def find(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        source: str | None = None,
        external_id: str | None = None,
    ) -> User | None:
        if username is None and email is None and external_id is None:
            return None
        with self._t.lock:
            for user in self._t.users.values():
                if (
                    (username is None or case_key(user.username) == case_key(username))
                    and (email is None or case_key(user.email) == case_key(email))
                    and (external_id is None or user.external_id == external_id)
                    and (source is None or user.source == source)
                ):
                    return user
        return None

    def update(self, user_id: str, **changes: Any) -> User:
        if "permissions" in changes:  # before the generic copy, which takes any iterable
            changes["permissions"] = string_tuple(changes["permissions"], "permissions")
        values = check_changes("user", changes, USER_FIELDS)
        with self._t.lock:
            user = replace(self._get(user_id), **values, updated_at=utcnow())
            self._check_unique(user)
            self._t.users[user_id] = user
            return user

    def delete(self, user_id: str) -> None:
        t = self._t
        with t.lock:
            self._get(user_id)
            del t.users[user_id]
            t.password_hashes.pop(user_id, None)
            for table in (t.sessions, t.refresh_tokens, t.password_resets, t.oauth_states):
                for key in [k for k, row in table.items() if row.user_id == user_id]:
                    del table[key]
            for owned_table in (
                t.api_keys,
                t.workflows,
                t.executions,
                t.integrations,
                t.resources,
                t.ai_usage,
            ):
                for key in [k for k, row in owned_table.items() if row.owner_id == user_id]:
                    del owned_table[key]
            for automation_id in [a.id for a in t.automations.values() if a.owner_id == user_id]:
                t.drop_automation(automation_id)

    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        with self._t.lock:
            return paginate(list(self._t.users.values()), limit=limit, cursor=cursor)

    def get_password_hash(self, user_id: str) -> str | None:
        with self._t.lock:
            self._get(user_id)
            return self._t.password_hashes.get(user_id)

    def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        with self._t.lock:
            self._get(user_id)
            self._t.password_hashes[user_id] = password_hash
