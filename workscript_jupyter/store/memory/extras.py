"""Integrations with their OAuth states, in memory (resources: resources.py; AI models and
usage: ai.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError
from ..base import INTEGRATION_FIELDS, IntegrationStore
from ..records import (
    Integration,
    OAuthState,
    Scope,
    new_id,
    utcnow,
)
from ._state import Tables, check_changes, normalise_record, owned, utc

__all__ = ["MemoryIntegrations"]


class MemoryIntegrations(IntegrationStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def create(self, scope: Scope, *, provider: str, **fields: Any) -> Integration:
        values = check_changes("integration", fields, INTEGRATION_FIELDS)
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
            self._t.integrations[record.id] = record
        return record

    def get(self, scope: Scope, integration_id: str) -> Integration:
        with self._t.lock:
            return owned(self._t.integrations, scope, integration_id, "integration")

    def update(self, scope: Scope, integration_id: str, **changes: Any) -> Integration:
        values = check_changes("integration", changes, INTEGRATION_FIELDS)
        with self._t.lock:
            row = owned(self._t.integrations, scope, integration_id, "integration")
            row = replace(row, **values, updated_at=utcnow())
            self._t.integrations[integration_id] = row
            return row

    def delete(self, scope: Scope, integration_id: str) -> None:
        with self._t.lock:
            owned(self._t.integrations, scope, integration_id, "integration")
            del self._t.integrations[integration_id]

    def list(self, scope: Scope, *, provider: str | None = None) -> list[Integration]:
        with self._t.lock:
            rows = [
                r
                for r in self._t.integrations.values()
                if scope.allows(r.owner_id) and (provider is None or r.provider == provider)
            ]
        return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)

    def save_oauth_state(self, state: OAuthState) -> None:
        record = normalise_record(state)
        with self._t.lock:
            self._t.require_user(record.user_id)
            if record.state in self._t.oauth_states:
                raise ConflictError("this OAuth state is already stored")
            self._t.oauth_states[record.state] = record

    def pop_oauth_state(self, state: str, now: datetime) -> OAuthState | None:
        at = utc(now, "now")
        assert at is not None
        with self._t.lock:
            record = self._t.oauth_states.pop(state, None)
        if record is None or record.expires_at <= at:
            return None
        return record
