"""Automations and the fires that claim their ticks, kept in memory."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError, FireAlreadyClaimedError, RecordNotFoundError
from ..base import AUTOMATION_FIELDS, AutomationStore, FireStore
from ..records import (
    Automation,
    ExecutionRecord,
    Page,
    ScheduleFire,
    Scope,
    new_id,
    new_ordered_id,
    utcnow,
)
from ._state import Tables, check_changes, detach, normalise_record, owned, paginate, utc

__all__ = ["MemoryAutomations", "MemoryFires"]


class MemoryAutomations(AutomationStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def create(self, scope: Scope, *, name: str, trigger_type: str, **fields: Any) -> Automation:
        values = check_changes("automation", fields, AUTOMATION_FIELDS)
        now = utcnow()
        values.setdefault("parameters", {})
        record = Automation(
            id=new_id(),
            owner_id=scope.user_id,
            name=name,
            trigger_type=trigger_type,
            created_at=now,
            updated_at=now,
            **values,
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            self._check_webhook(record.webhook_token_hash, record.id)
            self._t.automations[record.id] = record
        return detach(record)

    def _check_webhook(self, token_hash: str | None, automation_id: str) -> None:
        if token_hash is None:
            return
        for other in self._t.automations.values():
            if other.webhook_token_hash == token_hash and other.id != automation_id:
                raise ConflictError("another automation has this webhook token")

    def get(self, scope: Scope, automation_id: str) -> Automation:
        with self._t.lock:
            return detach(owned(self._t.automations, scope, automation_id, "automation"))

    def update(self, scope: Scope, automation_id: str, **changes: Any) -> Automation:
        values = check_changes("automation", changes, AUTOMATION_FIELDS)
        with self._t.lock:
            row = owned(self._t.automations, scope, automation_id, "automation")
            if "webhook_token_hash" in values:
                self._check_webhook(values["webhook_token_hash"], automation_id)
            row = replace(row, **values, updated_at=utcnow())
            self._t.automations[automation_id] = row
            return detach(row)

    def delete(self, scope: Scope, automation_id: str) -> None:
        with self._t.lock:
            owned(self._t.automations, scope, automation_id, "automation")
            self._t.drop_automation(automation_id)

    def list(
        self,
        scope: Scope,
        *,
        enabled: bool | None = None,
        trigger_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        with self._t.lock:
            rows = [
                r
                for r in self._t.automations.values()
                if scope.allows(r.owner_id)
                and (enabled is None or r.enabled == enabled)
                and (trigger_type is None or r.trigger_type == trigger_type)
            ]
            return paginate(rows, limit=limit, cursor=cursor)

    def due(self, now: datetime, *, limit: int = 100) -> builtins.list[Automation]:
        at = utc(now, "now")
        assert at is not None
        with self._t.lock:
            rows = [
                r
                for r in self._t.automations.values()
                if r.enabled and r.next_run_at is not None and r.next_run_at <= at
            ]
            rows.sort(key=lambda r: (r.next_run_at or at, r.id))
            return [detach(r) for r in rows[:limit]]

    def find_by_webhook_hash(self, token_hash: str) -> Automation | None:
        with self._t.lock:
            for row in self._t.automations.values():
                if row.webhook_token_hash == token_hash:
                    return detach(row)
        return None

    def set_run_times(self, times: Sequence[tuple[str, datetime | None, datetime | None]]) -> None:
        with self._t.lock:
            for automation_id, next_run, last_run in times:
                row = self._t.automations.get(automation_id)
                if row is not None:
                    self._t.automations[automation_id] = replace(
                        row,
                        next_run_at=utc(next_run, "next_run_at"),
                        last_run_at=utc(last_run, "last_run_at"),
                    )


class MemoryFires(FireStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def claim(
        self,
        automation_id: str,
        scheduled_for: datetime,
        claimed_by: str,
        *,
        outcome: str = "claimed",
        reason: str | None = None,
        run: ExecutionRecord | None = None,
    ) -> ScheduleFire:
        tick = utc(scheduled_for, "scheduled_for")
        assert tick is not None
        row = None if run is None else normalise_record(run)
        with self._t.lock:
            if automation_id not in self._t.automations:
                raise RecordNotFoundError("automation", automation_id)
            key = (automation_id, tick)
            if key in self._t.fire_keys:
                raise FireAlreadyClaimedError(
                    f"the tick {tick.isoformat()} of automation {automation_id} is already claimed"
                )
            if row is not None:
                self._t.require_user(row.owner_id)
                if row.id in self._t.executions:
                    raise ConflictError(f"execution id already exists: {row.id}")
                self._t.executions[row.id] = row
            fire = ScheduleFire(
                id=new_ordered_id(),
                automation_id=automation_id,
                scheduled_for=tick,
                claimed_by=claimed_by,
                claimed_at=utcnow(),
                outcome=outcome,
                reason=reason,
                execution_id=None if row is None else row.id,
            )
            self._t.fires[fire.id] = fire
            self._t.fire_keys[key] = fire.id
            return fire

    def record(
        self,
        fire_id: str,
        outcome: str,
        *,
        reason: str | None = None,
        execution_id: str | None = None,
    ) -> ScheduleFire:
        with self._t.lock:
            fire = self._t.fires.get(fire_id)
            if fire is None:
                raise RecordNotFoundError("fire", fire_id)
            fire = replace(
                fire,
                outcome=outcome,
                reason=reason if reason is not None else fire.reason,
                execution_id=execution_id if execution_id is not None else fire.execution_id,
            )
            self._t.fires[fire_id] = fire
            return fire

    def list(
        self, scope: Scope, automation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        with self._t.lock:
            owned(self._t.automations, scope, automation_id, "automation")
            rows = [f for f in self._t.fires.values() if f.automation_id == automation_id]
            return paginate(rows, limit=limit, cursor=cursor, key=lambda f: (f.scheduled_for, f.id))
