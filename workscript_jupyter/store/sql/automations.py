"""Automations and their fires in SQL.

A fire is claimed by inserting ``(automation_id, scheduled_for)`` under the table's unique
constraint: there is no read before the write, so two servers firing the same tick race on the
database's unique index, and exactly one insert wins. The loser gets FireAlreadyClaimedError.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    delete,
    insert,
    literal,
    select,
    update,
)

from ...errors import ConflictError, FireAlreadyClaimedError, RecordNotFoundError
from ..base import AUTOMATION_FIELDS, AutomationStore, FireStore
from ..records import (
    Automation,
    ExecutionRecord,
    FireClaim,
    Page,
    ScheduleFire,
    Scope,
    new_id,
    new_ordered_id,
    utcnow,
)
from ..tables import ID_LENGTH, UtcDateTime, automations, schedule_fires, workflow_executions
from .common import (
    Database,
    Duplicates,
    check_changes,
    json_copy,
    keyset,
    owned,
    row_values,
    to_page,
    to_record,
)
from .executions import execution_row

__all__ = ["SqlAutomationStore", "SqlFireStore"]

KIND = "automation"


class _FallBack(Exception):
    """A batch of claims that cannot go in at once."""


_WEBHOOK = {"webhook_token_hash": "another automation already uses this webhook token"}


class SqlAutomationStore(AutomationStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, scope: Scope, *, name: str, trigger_type: str, **fields: Any) -> Automation:
        check_changes(KIND, fields, AUTOMATION_FIELDS)
        if "parameters" in fields:
            fields = {**fields, "parameters": json_copy(fields["parameters"])}
        now = utcnow()
        record = Automation(
            id=new_id(),
            owner_id=scope.user_id,
            name=name,
            trigger_type=trigger_type,
            created_at=now,
            updated_at=now,
            **fields,
        )
        values = row_values(record, automations)
        with self._db.begin(
            Duplicates(KIND, "automations", _WEBHOOK, record.id, owner_id=scope.user_id)
        ) as connection:
            connection.execute(insert(automations).values(values))
        return record

    def get(self, scope: Scope, automation_id: str) -> Automation:
        with self._db.read() as connection:
            row = connection.execute(
                select(automations).where(
                    automations.c.id == automation_id, *owned(automations, scope)
                )
            ).first()
        if row is None:
            raise RecordNotFoundError(KIND, automation_id)
        return to_record(Automation, row._mapping)

    def update(self, scope: Scope, automation_id: str, **changes: Any) -> Automation:
        check_changes(KIND, changes, AUTOMATION_FIELDS)
        values = {**changes, "updated_at": utcnow()}
        with self._db.begin(Duplicates(KIND, "automations", _WEBHOOK)) as connection:
            result = connection.execute(
                update(automations)
                .where(automations.c.id == automation_id, *owned(automations, scope))
                .values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, automation_id)
            row = connection.execute(
                select(automations).where(automations.c.id == automation_id)
            ).one()
        return to_record(Automation, row._mapping)

    def delete(self, scope: Scope, automation_id: str) -> None:
        with self._db.begin() as connection:
            # The automation first (its owner checked by the WHERE); its fires after, explicitly,
            # so the result is the same whether or not the database enforces the cascade.
            result = connection.execute(
                delete(automations).where(
                    automations.c.id == automation_id, *owned(automations, scope)
                )
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, automation_id)
            connection.execute(
                delete(schedule_fires).where(schedule_fires.c.automation_id == automation_id)
            )

    def list(
        self,
        scope: Scope,
        *,
        enabled: bool | None = None,
        trigger_type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        conditions: list[ColumnElement[bool]] = owned(automations, scope)
        if enabled is not None:
            conditions.append(automations.c.enabled == enabled)
        if trigger_type is not None:
            conditions.append(automations.c.trigger_type == trigger_type)
        statement = keyset(
            select(automations).where(*conditions),
            automations.c.created_at,
            automations.c.id,
            cursor,
            limit,
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(Automation, row))

    def due(self, now: datetime, *, limit: int = 100) -> builtins.list[Automation]:
        statement = (
            select(automations)
            .where(
                automations.c.enabled.is_(True),
                automations.c.next_run_at.is_not(None),
                automations.c.next_run_at <= now,
            )
            .order_by(automations.c.next_run_at, automations.c.id)
            .limit(limit)
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return [to_record(Automation, row._mapping) for row in rows]

    def find_by_webhook_hash(self, token_hash: str) -> Automation | None:
        with self._db.read() as connection:
            row = connection.execute(
                select(automations).where(automations.c.webhook_token_hash == token_hash)
            ).first()
        return None if row is None else to_record(Automation, row._mapping)

    def set_run_times(self, times: Sequence[tuple[str, datetime | None, datetime | None]]) -> None:
        groups: dict[tuple[datetime | None, datetime | None], builtins.list[str]] = {}
        for automation_id, next_run, last_run in times:
            groups.setdefault((next_run, last_run), []).append(automation_id)
        if not groups:
            return
        with self._db.begin() as connection:
            for (next_run, last_run), ids in groups.items():
                connection.execute(
                    update(automations)
                    .where(automations.c.id.in_(ids))
                    .values(next_run_at=next_run, last_run_at=last_run)
                )


class SqlFireStore(FireStore):
    def __init__(self, db: Database) -> None:
        self._db = db

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
        fire = ScheduleFire(
            id=new_ordered_id(),
            automation_id=automation_id,
            scheduled_for=scheduled_for,
            claimed_by=claimed_by,
            claimed_at=utcnow(),
            outcome=outcome,
            reason=reason,
            execution_id=None if run is None else run.id,
        )
        # INSERT ... SELECT FROM automations: the automation must exist (even where foreign
        # keys are not enforced), and the unique index alone decides who wins the tick.
        source = select(
            literal(fire.id, String(ID_LENGTH)),
            automations.c.id,
            literal(fire.scheduled_for, UtcDateTime()),
            literal(fire.claimed_by, String(200)),
            literal(fire.claimed_at, UtcDateTime()),
            literal(fire.outcome, String(20)),
            literal(fire.reason, String(1000)),
            literal(fire.execution_id, String(ID_LENGTH)),
        ).where(automations.c.id == automation_id)
        columns = [
            "id",
            "automation_id",
            "scheduled_for",
            "claimed_by",
            "claimed_at",
            "outcome",
            "reason",
            "execution_id",
        ]
        duplicates = Duplicates(
            "fire",
            "schedule_fires",
            {
                "scheduled_for": f"the tick {scheduled_for.isoformat()} of automation "
                f"{automation_id!r} is already claimed"
            },
            fire.id,
            error=FireAlreadyClaimedError,
        )
        with self._db.begin(duplicates) as connection:
            result = connection.execute(insert(schedule_fires).from_select(columns, source))
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, automation_id)
            if run is not None:
                connection.execute(insert(workflow_executions).values(execution_row(run)))
        return fire

    def claim_many(
        self, claims: Sequence[FireClaim], claimed_by: str
    ) -> builtins.list[ScheduleFire | None]:
        """One transaction with one multi-row INSERT per table; if any tick was taken (or an
        automation deleted) meanwhile, nothing of it is kept and the ticks are claimed one by
        one, so each gets its own answer."""
        if len(claims) < 2:
            return super().claim_many(claims, claimed_by)
        now = utcnow()
        fires = [
            ScheduleFire(
                id=new_ordered_id(),
                automation_id=c.automation_id,
                scheduled_for=c.scheduled_for,
                claimed_by=claimed_by,
                claimed_at=now,
                outcome=c.outcome,
                reason=c.reason,
                execution_id=None if c.run is None else c.run.id,
            )
            for c in claims
        ]
        ids = {c.automation_id for c in claims}
        runs = [execution_row(c.run) for c in claims if c.run is not None]
        try:
            with self._db.begin() as connection:
                present = connection.execute(
                    select(automations.c.id).where(automations.c.id.in_(ids))
                ).scalars()
                if set(present) != ids:
                    raise _FallBack
                connection.execute(
                    insert(schedule_fires), [row_values(f, schedule_fires) for f in fires]
                )
                if runs:
                    connection.execute(insert(workflow_executions), runs)
        except (_FallBack, ConflictError):
            return super().claim_many(claims, claimed_by)
        return list(fires)

    def record(
        self,
        fire_id: str,
        outcome: str,
        *,
        reason: str | None = None,
        execution_id: str | None = None,
    ) -> ScheduleFire:
        values: dict[str, Any] = {"outcome": outcome}
        if reason is not None:
            values["reason"] = reason
        if execution_id is not None:
            values["execution_id"] = execution_id
        with self._db.begin() as connection:
            result = connection.execute(
                update(schedule_fires).where(schedule_fires.c.id == fire_id).values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError("fire", fire_id)
            row = connection.execute(
                select(schedule_fires).where(schedule_fires.c.id == fire_id)
            ).one()
        return to_record(ScheduleFire, row._mapping)

    def list(
        self, scope: Scope, automation_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        statement = keyset(
            select(schedule_fires).where(schedule_fires.c.automation_id == automation_id),
            schedule_fires.c.scheduled_for,
            schedule_fires.c.id,
            cursor,
            limit,
        )
        with self._db.read() as connection:
            visible = connection.execute(
                select(automations.c.id).where(
                    automations.c.id == automation_id, *owned(automations, scope)
                )
            ).first()
            if visible is None:
                raise RecordNotFoundError(KIND, automation_id)
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(ScheduleFire, row), "scheduled_for")
