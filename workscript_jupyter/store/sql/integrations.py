"""OAuth integrations and the short-lived OAuth states of their sign-in flows, in SQL.

An OAuth state is single-use: ``pop_oauth_state`` reads it, then deletes it by its key and
checks the row count, so of two concurrent callers exactly one gets the state (the other's
DELETE finds nothing and it gets None).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update

from ...errors import RecordNotFoundError
from ..base import INTEGRATION_FIELDS, IntegrationStore
from ..records import Integration, OAuthState, Scope, new_id, utcnow
from ..tables import integrations, oauth_states
from .common import (
    Database,
    Duplicates,
    check_changes,
    delete_owned,
    json_value,
    owned,
    row_values,
    to_record,
)

__all__ = ["SqlIntegrationStore"]

KIND = "integration"


class SqlIntegrationStore(IntegrationStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        check_changes(KIND, fields, INTEGRATION_FIELDS)
        now = utcnow()
        fields = {**fields}
        if "scopes" in fields:
            fields["scopes"] = tuple(fields["scopes"])
        record = Integration(
            id=new_id(),
            owner_id=scope.user_id,
            provider=provider,
            created_at=now,
            updated_at=now,
            **fields,
        )
        values = row_values(record, integrations)
        with self._db.begin(
            Duplicates(KIND, "integrations", record_id=record.id, owner_id=scope.user_id)
        ) as connection:
            connection.execute(insert(integrations).values(values))
        return record

    def get(self, scope: Scope, integration_id: str) -> Integration:
        with self._db.read() as connection:
            row = connection.execute(
                select(integrations).where(
                    integrations.c.id == integration_id, *owned(integrations, scope)
                )
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, integration_id)
        return to_record(Integration, row._mapping)

    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration:
        check_changes(KIND, changes, INTEGRATION_FIELDS)
        values = {name: json_value(value) for name, value in changes.items()}
        if "scopes" in values:
            values["scopes"] = list(values["scopes"])
        values["updated_at"] = utcnow()
        with self._db.begin() as connection:
            result = connection.execute(
                update(integrations)
                .where(integrations.c.id == integration_id, *owned(integrations, scope))
                .values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, integration_id)
            row = connection.execute(
                select(integrations).where(integrations.c.id == integration_id)
            ).one()
        return to_record(Integration, row._mapping)

    def delete(self, scope: Scope, integration_id: str) -> None:
        with self._db.begin() as connection:
            delete_owned(connection, integrations, integration_id, scope, KIND)

    def list(self, scope: Scope, *, provider: str | None = None) -> list[Integration]:
        conditions: list[ColumnElement[bool]] = owned(integrations, scope)
        if provider is not None:
            conditions.append(integrations.c.provider == provider)
        statement = (
            select(integrations)
            .where(*conditions)
            .order_by(integrations.c.created_at.desc(), integrations.c.id.desc())
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return [to_record(Integration, row._mapping) for row in rows]

    def save_oauth_state(self, state: OAuthState) -> None:
        values = row_values(state, oauth_states)
        message = "this OAuth state is already saved"
        labels = {"PRIMARY": message, "oauth_states.state": message}
        with self._db.begin(
            Duplicates("OAuth state", "oauth_states", labels, owner_id=state.user_id)
        ) as connection:
            connection.execute(insert(oauth_states).values(values))

    def pop_oauth_state(self, state: str, now: datetime) -> OAuthState | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(oauth_states).where(oauth_states.c.state == state)
            ).first()
        if row is None:
            return None
        with self._db.begin() as connection:
            taken = connection.execute(delete(oauth_states).where(oauth_states.c.state == state))
            # Expired states are also removed, and the stale ones of every flow with them.
            connection.execute(delete(oauth_states).where(oauth_states.c.expires_at <= now))
        if taken.rowcount != 1:
            return None  # another caller popped it first
        record = to_record(OAuthState, row._mapping)
        return record if record.expires_at > now else None
