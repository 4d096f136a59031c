"""Saved workflows, kept in memory: found by record id or by the owner's definition id."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...errors import ConflictError, RecordNotFoundError
from ..base import WORKFLOW_FIELDS, WorkflowStore
from ..definition_ids import definition_id_of
from ..records import Page, Scope, WorkflowRecord, utcnow
from ._state import Tables, check_changes, detach, json_copy, paginate

__all__ = ["MemoryWorkflows"]


class MemoryWorkflows(WorkflowStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

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
            definition=json_copy(definition, "definition"),
            description=description,
            version=version,
            id=id,
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            if record.id in self._t.workflows:
                raise ConflictError(f"a workflow with id {record.id!r} already exists")
            self._check_free(record.owner_id, record.definition_id, record.id)
            self._t.workflows[record.id] = record
        return detach(record)

    def get(self, scope: Scope, workflow_id: str) -> WorkflowRecord:
        with self._t.lock:
            return detach(self._find(scope, workflow_id))

    def update(self, scope: Scope, workflow_id: str, **changes: Any) -> WorkflowRecord:
        values = check_changes("workflow", changes, WORKFLOW_FIELDS)
        if "definition" in values:
            values["definition_id"] = definition_id_of(values["definition"])
        with self._t.lock:
            row = self._find(scope, workflow_id)
            if "definition_id" in values:
                self._check_free(row.owner_id, values["definition_id"], row.id)
            row = replace(row, **values, updated_at=utcnow())
            self._t.workflows[row.id] = row
            return detach(row)

    def delete(self, scope: Scope, workflow_id: str) -> None:
        # runs keep their record after the workflow goes (no cascade, as in the SQL schema)
        with self._t.lock:
            row = self._find(scope, workflow_id)
            del self._t.workflows[row.id]

    def list(
        self,
        scope: Scope,
        *,
        limit: int = 50,
        cursor: str | None = None,
        name_contains: str | None = None,
    ) -> Page:
        needle = name_contains.lower() if name_contains else None
        with self._t.lock:
            rows = [
                r
                for r in self._t.workflows.values()
                if scope.allows(r.owner_id) and (needle is None or needle in r.name.lower())
            ]
            return paginate(rows, limit=limit, cursor=cursor)

    def _find(self, scope: Scope, workflow_id: str) -> WorkflowRecord:
        """By record id (any the scope may see), else by the caller's own definition id."""
        row = self._t.workflows.get(workflow_id)
        if row is not None and scope.allows(row.owner_id):
            return row
        for row in self._t.workflows.values():
            if row.definition_id == workflow_id and row.owner_id == scope.user_id:
                return row
        raise RecordNotFoundError("workflow", workflow_id)

    def _check_free(self, owner_id: str, definition_id: str | None, record_id: str) -> None:
        if definition_id is None:
            return
        for row in self._t.workflows.values():
            if (
                row.owner_id == owner_id
                and row.definition_id == definition_id
                and row.id != record_id
            ):
                raise ConflictError(
                    f"a workflow with definition id {definition_id!r} already exists "
                    f"(record {row.id})",
                    details={"definitionId": definition_id, "workflowId": row.id},
                )
