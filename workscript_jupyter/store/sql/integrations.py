"""Connections to outside accounts and the short-lived OAuth states of their sign-ins, in SQL.

Two statements carry the concurrency rules, each one UPDATE or DELETE whose row count decides:
``take_refresh_lease`` sets ``refreshing_until`` only WHERE no live lease is held, so of two
servers exactly one refreshes a connection; ``pop_oauth_state`` deletes the state by its key,
so of two callers exactly one gets it (and a state popped by the wrong user is gone as well).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select, update

from ...errors import RecordNotFoundError
from ..interfaces.integrations import (
    INTEGRATION_FIELDS,
    IntegrationStore,
    check_integration_values,
    default_name,
)
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
_ACCOUNT_TAKEN = "this account is already connected"
_DUPLICATES = {
    "uq_integrations_owner_id_provider_account_id": _ACCOUNT_TAKEN,
    "account_id": _ACCOUNT_TAKEN,
}


class SqlIntegrationStore(IntegrationStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        check_changes(KIND, fields, INTEGRATION_FIELDS)
        values = check_integration_values(fields)
        values["name"] = default_name(provider, values)
        if "scopes" in values:
            values["scopes"] = tuple(values["scopes"])
        now = utcnow()
        record = Integration(
            id=new_id(),
            owner_id=scope.user_id,
            provider=provider,
            created_at=now,
            updated_at=now,
            **values,
        )
        with self._db.begin(self._duplicates(record.id, scope.user_id)) as connection:
            connection.execute(insert(integrations).values(row_values(record, integrations)))
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

    def get_by_account(self, scope: Scope, provider: str, account_id: str) -> Integration | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(integrations).where(
                    integrations.c.owner_id == scope.user_id,
                    integrations.c.provider == provider,
                    integrations.c.account_id == account_id,
                )
            ).first()
        return None if row is None else to_record(Integration, row._mapping)

    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration:
        check_changes(KIND, changes, INTEGRATION_FIELDS)
        values = {
            name: json_value(value) for name, value in check_integration_values(changes).items()
        }
        if "scopes" in values:
            values["scopes"] = list(values["scopes"])
        values["updated_at"] = utcnow()
        with self._db.begin(self._duplicates(integration_id, scope.user_id)) as connection:
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

    def touch_used(self, integration_id: str, at: datetime) -> None:
        with self._db.begin() as connection:
            connection.execute(
                update(integrations)
                .where(integrations.c.id == integration_id)
                .values(last_used_at=at)
            )

    def take_refresh_lease(self, integration_id: str, until: datetime, now: datetime) -> bool:
        free = or_(integrations.c.refreshing_until.is_(None), integrations.c.refreshing_until < now)
        with self._db.begin() as connection:
            result = connection.execute(
                update(integrations)
                .where(integrations.c.id == integration_id, free)
                .values(refreshing_until=until)
            )
        return result.rowcount == 1

    def release_refresh_lease(self, integration_id: str) -> None:
        with self._db.begin() as connection:
            connection.execute(
                update(integrations)
                .where(integrations.c.id == integration_id)
                .values(refreshing_until=None)
            )

    def save_oauth_state(self, state: OAuthState) -> None:
        values = row_values(state, oauth_states)
        message = "this OAuth state is already saved"
        labels = {"PRIMARY": message, "oauth_states.state": message}
        with self._db.begin(
            Duplicates("OAuth state", "oauth_states", labels, owner_id=state.user_id)
        ) as connection:
            connection.execute(insert(oauth_states).values(values))

    def pop_oauth_state(self, state: str, user_id: str | None, now: datetime) -> OAuthState | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(oauth_states).where(oauth_states.c.state == state)
            ).first()
        if row is None:
            return None
        with self._db.begin() as connection:
            taken = connection.execute(delete(oauth_states).where(oauth_states.c.state == state))
        if taken.rowcount != 1:
            return None  # another caller popped it first
        record = to_record(OAuthState, row._mapping)
        if (user_id is not None and record.user_id != user_id) or record.expires_at <= now:
            return None  # someone else's flow, or too late: consumed all the same
        return record

    def prune_oauth_states(self, now: datetime) -> int:
        with self._db.begin() as connection:
            result = connection.execute(
                delete(oauth_states).where(oauth_states.c.expires_at <= now)
            )
        return int(result.rowcount)

    @staticmethod
    def _duplicates(record_id: str, owner_id: str) -> Duplicates:
        return Duplicates(KIND, "integrations", _DUPLICATES, record_id=record_id, owner_id=owner_id)
