"""Saved workflows in SQL: owner-scoped CRUD and a keyset-paged list.

A workflow is found by its record id or by its owner's definition id (store/definition_ids.py);
``workflows.definition_id`` is unique per owner, so a second workflow with the same definition id
is a ConflictError, on create and on update.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ...errors import ConflictError, RecordNotFoundError
from ..base import WORKFLOW_FIELDS, WorkflowStore
from ..definition_ids import definition_id_of
from ..records import Page, Scope, WorkflowRecord, utcnow
from ..tables import workflows
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

__all__ = ["SqlWorkflowStore"]

KIND = "workflow"
DEFINITION_ID_TAKEN = "a workflow with this definition id already exists for this owner"


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
        record = WorkflowRecord.new(
            scope.user_id,
            name=name,
            definition=json_copy(definition),
            description=description,
            version=version,
            id=id,
        )
        values = row_values(record, workflows)
        with self._db.begin(_duplicates(record.id, scope.user_id)) as connection:
            _check_free(connection, record.owner_id, record.definition_id, record.id)
            connection.execute(insert(workflows).values(values))
        return record

    def get(self, scope: Scope, workflow_id: str) -> WorkflowRecord:
        with self._db.read() as connection:
            return _find(connection, scope, workflow_id)

    def update(self, scope: Scope, workflow_id: str, **changes: Any) -> WorkflowRecord:
        check_changes(KIND, changes, WORKFLOW_FIELDS)
        values = {**changes, "updated_at": utcnow()}
        if "definition" in changes:
            values["definition_id"] = definition_id_of(changes["definition"])
        with self._db.begin(_duplicates()) as connection:
            current = _find(connection, scope, workflow_id)
            if "definition_id" in values:
                _check_free(connection, current.owner_id, values["definition_id"], current.id)
            result = connection.execute(
                update(workflows)
                .where(workflows.c.id == current.id, *owned(workflows, scope))
                .values(values)
            )
            if result.rowcount == 0:  # deleted meanwhile
                raise RecordNotFoundError(KIND, workflow_id)
            row = connection.execute(select(workflows).where(workflows.c.id == current.id)).one()
        return to_record(WorkflowRecord, row._mapping)

    def delete(self, scope: Scope, workflow_id: str) -> None:
        # Runs keep their workflow_id: a run's record outlives the workflow it ran.
        with self._db.begin() as connection:
            current = _find(connection, scope, workflow_id)
            result = connection.execute(
                delete(workflows).where(workflows.c.id == current.id, *owned(workflows, scope))
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(KIND, workflow_id)

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


def _duplicates(record_id: str | None = None, owner_id: str | None = None) -> Duplicates:
    """A duplicated definition id that slipped past ``_check_free`` (a concurrent write)."""
    return Duplicates(
        KIND,
        "workflows",
        labels={"definition_id": DEFINITION_ID_TAKEN},
        record_id=record_id,
        owner_id=owner_id,
    )


def _find(connection: Connection, scope: Scope, workflow_id: str) -> WorkflowRecord:
    """By record id (any the scope may see), else by the caller's own definition id."""
    row = connection.execute(
        select(workflows).where(workflows.c.id == workflow_id, *owned(workflows, scope))
    ).first()
    if row is None:
        row = connection.execute(
            select(workflows).where(
                workflows.c.owner_id == scope.user_id, workflows.c.definition_id == workflow_id
            )
        ).first()
    if row is None:
        raise RecordNotFoundError(KIND, workflow_id)
    return to_record(WorkflowRecord, row._mapping)


def _check_free(
    connection: Connection, owner_id: str, definition_id: str | None, record_id: str
) -> None:
    if definition_id is None:
        return
    taken = connection.execute(
        select(workflows.c.id).where(
            workflows.c.owner_id == owner_id,
            workflows.c.definition_id == definition_id,
            workflows.c.id != record_id,
        )
    ).first()
    if taken is not None:
        raise ConflictError(
            f"a workflow with definition id {definition_id!r} already exists (record {taken.id})",
            details={"definitionId": definition_id, "workflowId": taken.id},
        )
