"""Saved workflows in SQL: owner-scoped CRUD and a keyset-paged list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from ...errors import RecordNotFoundError
from ..base import WORKFLOW_FIELDS, WorkflowStore
from ..records import Page, Scope, WorkflowRecord, new_id, utcnow
from ..tables import workflows
from .common import (
    Database,
    Duplicates,
    check_changes,
    delete_owned,
    get_owned,
    json_copy,
    keyset,
    owned,
    row_values,
    to_page,
    to_record,
)

__all__ = ["SqlWorkflowStore"]

KIND = "workflow"


class SqlWorkflowStore(WorkflowStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        scope: Scope,
        *,
        name: str,
        definition: dict[str, Any],
        description: str = "",
        version: str = "1.0.0",
        id: str | None = None,
    ) -> WorkflowRecord:
        now = utcnow()
        record = WorkflowRecord(
            id=id or new_id(),
            owner_id=scope.user_id,
            name=name,
            definition=json_copy(definition),
            version=version,
            description=description,
            created_at=now,
            updated_at=now,
        )
        values = row_values(record, workflows)
        with self._db.begin(
            Duplicates(KIND, "workflows", record_id=record.id, owner_id=scope.user_id)
        ) as connection:
            connection.execute(insert(workflows).values(values))
        return record

    def get(self, scope: Scope, workflow_id: str) -> WorkflowRecord:
        with self._db.read() as connection:
            return get_owned(connection, workflows, workflow_id, scope, KIND, WorkflowRecord)

    def update(self, scope: Scope, workflow_id: str, **changes: Any) -> WorkflowRecord:
        check_changes(KIND, changes, WORKFLOW_FIELDS)
        values = {**changes, "updated_at": utcnow()}
        with self._db.begin(Duplicates(KIND, "workflows")) as connection:
            result = connection.execute(
                update(workflows)
                .where(workflows.c.id == workflow_id, *owned(workflows, scope))
                .values(values)
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, workflow_id)
            row = connection.execute(select(workflows).where(workflows.c.id == workflow_id)).one()
        return to_record(WorkflowRecord, row._mapping)

    def delete(self, scope: Scope, workflow_id: str) -> None:
        # Runs keep their workflow_id: a run's record outlives the workflow it ran.
        with self._db.begin() as connection:
            delete_owned(connection, workflows, workflow_id, scope, KIND)

    def list(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        name_contains: str | None = None,
    ) -> Page:
        statement = select(workflows).where(*owned(workflows, scope))
        if name_contains:
            statement = statement.where(workflows.c.name.icontains(name_contains, autoescape=True))
        statement = keyset(statement, workflows.c.created_at, workflows.c.id, cursor, limit)
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, lambda row: to_record(WorkflowRecord, row))
