"""Connections to outside accounts and their OAuth states, in memory (the same rules as
store/sql/integrations.py: one account per owner and provider, the refresh lease, single-use
states bound to their user)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError
from ..interfaces.integrations import (
    INTEGRATION_FIELDS,
    IntegrationStore,
    check_integration_values,
    default_name,
)
from ..records import Integration, OAuthState, Scope, new_id, utcnow
from ._state import Tables, check_changes, normalise_record, owned, utc

__all__ = ["MemoryIntegrations"]

KIND = "integration"


class MemoryIntegrations(IntegrationStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        values = check_integration_values(check_changes(KIND, fields, INTEGRATION_FIELDS))
        values["name"] = default_name(provider, values)
        now = utcnow()
        record = Integration(
            id=new_id(),
            owner_id=scope.user_id,
            provider=provider,
            created_at=now,
            updated_at=now,
            **values,
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            self._check_unique(record)
            self._t.integrations[record.id] = record
        return record

    def get(self, scope: Scope, integration_id: str) -> Integration:
        with self._t.lock:
            return owned(self._t.integrations, scope, integration_id, KIND)

    def get_by_account(self, scope: Scope, provider: str, account_id: str) -> Integration | None:
        with self._t.lock:
            for row in self._t.integrations.values():
                if (row.owner_id, row.provider, row.account_id) == (
                    scope.user_id,
                    provider,
                    account_id,
                ):
                    return row
        return None

    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration:
        values = check_integration_values(check_changes(KIND, changes, INTEGRATION_FIELDS))
        with self._t.lock:
            row = owned(self._t.integrations, scope, integration_id, KIND)
            row = replace(row, **values, updated_at=utcnow())
            self._check_unique(row)
            self._t.integrations[integration_id] = row
            return row

    def delete(self, scope: Scope, integration_id: str) -> None:
        with self._t.lock:
            owned(self._t.integrations, scope, integration_id, KIND)
            del self._t.integrations[integration_id]

    def list(self, scope: Scope, *, provider: str | None = None) -> list[Integration]:
        with self._t.lock:
            rows = [
                r
                for r in self._t.integrations.values()
                if scope.allows(r.owner_id) and (provider is None or r.provider == provider)
            ]
        return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)

    def touch_used(self, integration_id: str, at: datetime) -> None:
        when = utc(at, "at")
        with self._t.lock:
            row = self._t.integrations.get(integration_id)
            if row is not None:
                self._t.integrations[integration_id] = replace(row, last_used_at=when)

    def take_refresh_lease(self, integration_id: str, until: datetime, now: datetime) -> bool:
        end, at = utc(until, "until"), utc(now, "now")
        assert at is not None
        with self._t.lock:
            row = self._t.integrations.get(integration_id)
            if row is None:
                return False
            if row.refreshing_until is not None and row.refreshing_until >= at:
                return False  # another process holds it
            self._t.integrations[integration_id] = replace(row, refreshing_until=end)
            return True

    def release_refresh_lease(self, integration_id: str) -> None:
        with self._t.lock:
            row = self._t.integrations.get(integration_id)
            if row is not None:
                self._t.integrations[integration_id] = replace(row, refreshing_until=None)

    def save_oauth_state(self, state: OAuthState) -> None:
        record = normalise_record(state)
        with self._t.lock:
            self._t.require_user(record.user_id)
            if record.state in self._t.oauth_states:
                raise ConflictError("this OAuth state is already saved")
            self._t.oauth_states[record.state] = record

    def pop_oauth_state(self, state: str, user_id: str | None, now: datetime) -> OAuthState | None:
        at = utc(now, "now")
        assert at is not None
        with self._t.lock:
            record = self._t.oauth_states.pop(state, None)
        if (
            record is None
            or (user_id is not None and record.user_id != user_id)
            or record.expires_at <= at
        ):
            return None
        return record

    def prune_oauth_states(self, now: datetime) -> int:
        at = utc(now, "now")
        assert at is not None
        with self._t.lock:
            expired = [k for k, v in self._t.oauth_states.items() if v.expires_at <= at]
            for key in expired:
                del self._t.oauth_states[key]
        return len(expired)

    def _check_unique(self, record: Integration) -> None:
        """One connection per owner, provider and account (a missing account id repeats
        freely, as NULLs do under the SQL unique constraint)."""
        if record.account_id is None:
            return
        for other in self._t.integrations.values():
            if other.id != record.id and (other.owner_id, other.provider, other.account_id) == (
                record.owner_id,
                record.provider,
                record.account_id,
            ):
                raise ConflictError(f"this {record.provider} account is already connected")
