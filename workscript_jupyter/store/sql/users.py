"""Users in SQL. Usernames and emails are unique case-insensitively: the lower-cased copies in
``username_key`` / ``email_key`` carry the unique indexes, so the rule holds on every database
and collation, and lookups use the index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, insert, select, update

from ...errors import RecordNotFoundError
from ..base import USER_FIELDS, UserStore
from ..interfaces.users import string_tuple
from ..records import Page, User, utcnow
from ..tables import ai_usage as ai_usage_table
from ..tables import (
    api_keys,
    automations,
    integrations,
    oauth_states,
    password_resets,
    refresh_tokens,
    resources,
    schedule_fires,
    sessions,
    users,
    workflow_executions,
    workflows,
)
from .common import (
    Database,
    Duplicates,
    check_changes,
    json_value,
    keyset,
    row_values,
    to_page,
    to_record,
)

__all__ = ["SqlUserStore"]

KIND = "user"
# What a user owns, deleted with them (the same rows ON DELETE CASCADE removes where foreign
# keys are enforced; done explicitly so SQLite without foreign keys ends in the same state).
_OWNED: tuple[Table, ...] = (
    api_keys,
    workflows,
    workflow_executions,
    integrations,
    resources,
    ai_usage_table,
)
_BY_USER_ID: tuple[Table, ...] = (sessions, refresh_tokens, password_resets, oauth_states)


def _duplicates(
    username: str | None, email: str | None, record_id: str | None = None
) -> Duplicates:
    labels = {}
    if email is not None:
        labels["email_key"] = f"the email {email!r} is already taken"
    if username is not None:
        labels["username_key"] = f"the username {username!r} is already taken"
    labels["external_id"] = "another user already has this external identity"
    return Duplicates(KIND, "users", labels, record_id)


def _key(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _user(row: Mapping[Any, Any]) -> User:
    """A user from a row: ``permissions`` is NULL in rows from before migration 0004."""
    return to_record(User, row, permissions=tuple(row["permissions"] or ()))


class SqlUserStore(UserStore):
    def __init__(self, db: Database) -> None:
        self._db = db

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
        values = row_values(user, users)
        values.update(
            roles=list(user.roles),
            permissions=list(user.permissions),
            username_key=_key(username),
            email_key=_key(email),
            password_hash=password_hash,
        )
        with self._db.begin(_duplicates(username, email, user.id)) as connection:
            connection.execute(insert(users).values(values))
        return user

    def get(self, user_id: str) -> User:
        with self._db.read() as connection:
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise RecordNotFoundError(KIND, user_id)
        return _user(row._mapping)

    def find(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        source: str | None = None,
        external_id: str | None = None,
    ) -> User | None:
        """Every criterion given must match; without a username, email or external id, None."""
        conditions: list[ColumnElement[bool]] = []
        if username is not None:
            conditions.append(users.c.username_key == _key(username))
        if email is not None:
            conditions.append(users.c.email_key == _key(email))
        if source is not None:
            conditions.append(users.c.source == source)
        if external_id is not None:
            conditions.append(users.c.external_id == external_id)
        if username is None and email is None and external_id is None:
            return None
        with self._db.read() as connection:
            row = connection.execute(select(users).where(*conditions).limit(1)).first()
        return None if row is None else _user(row._mapping)

    def update(self, user_id: str, **changes: Any) -> User:
        check_changes(KIND, changes, USER_FIELDS)
        values = {name: json_value(value) for name, value in changes.items()}
        if "permissions" in changes:
            values["permissions"] = list(string_tuple(changes["permissions"], "permissions"))
        if "username" in changes:
            values["username_key"] = _key(changes["username"])
        if "email" in changes:
            values["email_key"] = _key(changes["email"])
        values["updated_at"] = utcnow()
        duplicates = _duplicates(changes.get("username"), changes.get("email"))
        with self._db.begin(duplicates) as connection:
            result = connection.execute(update(users).where(users.c.id == user_id).values(values))
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, user_id)
            row = connection.execute(select(users).where(users.c.id == user_id)).one()
        return _user(row._mapping)

    def delete(self, user_id: str) -> None:
        with self._db.begin() as connection:
            owned_automations = select(automations.c.id).where(automations.c.owner_id == user_id)
            connection.execute(
                delete(schedule_fires).where(schedule_fires.c.automation_id.in_(owned_automations))
            )
            connection.execute(delete(automations).where(automations.c.owner_id == user_id))
            for table in _OWNED:
                connection.execute(delete(table).where(table.c.owner_id == user_id))
            for table in _BY_USER_ID:
                connection.execute(delete(table).where(table.c.user_id == user_id))
            result = connection.execute(delete(users).where(users.c.id == user_id))
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, user_id)

    def list(self, *, limit: int = 50, cursor: str | None = None) -> Page:
        statement = keyset(select(users), users.c.created_at, users.c.id, cursor, limit)
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, _user)

    def get_password_hash(self, user_id: str) -> str | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(users.c.password_hash).where(users.c.id == user_id)
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, user_id)
        return row[0]  # type: ignore[no-any-return]

    def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        with self._db.begin() as connection:
            result = connection.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=password_hash, updated_at=utcnow())
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, user_id)
