"""Executions (every run, automations' included), kept in memory (workflows: workflows.py)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from ...errors import ConflictError
from ..base import (
    EXECUTION_FIELDS,
    ExecutionStore,
)
from ..records import (
    ExecutionRecord,
    Page,
    Scope,
    new_ordered_id,
    utcnow,
)
from ._state import (
    Tables,
    check_changes,
    detach,
    json_copy,
    normalise_record,
    owned,
    paginate,
    utc,
)

__all__ = ["ACTIVE_STATUSES", "MemoryExecutions"]

ACTIVE_STATUSES = frozenset({"queued", "running"})


def _summary(row: ExecutionRecord) -> ExecutionRecord:
    """A list item: the big fields left out so a page stays small."""
    return detach(replace(row, timeline=[], initial_state={}, final_state=None))


class MemoryExecutions(ExecutionStore):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def create(
        self,
        scope: Scope,
        *,
        status: str = "queued",
        trigger: str = "manual",
        workflow_id: str | None = None,
        automation_id: str | None = None,
        initial_state: dict[str, Any] | None = None,
        trigger_data: dict[str, Any] | None = None,
        id: str | None = None,
    ) -> ExecutionRecord:
        record = ExecutionRecord(
            id=id or new_ordered_id(),
            owner_id=scope.user_id,
            status=status,
            trigger=trigger,
            workflow_id=workflow_id,
            automation_id=automation_id,
            initial_state=json_copy(initial_state or {}, "initial_state"),
            trigger_data=json_copy(trigger_data or {}, "trigger_data"),
            created_at=utcnow(),
        )
        with self._t.lock:
            self._t.require_user(scope.user_id)
            if record.id in self._t.executions:
                raise ConflictError(f"an execution with id {record.id!r} already exists")
            self._t.executions[record.id] = record
        return detach(record)

    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        rows = [normalise_record(r) for r in records]
        with self._t.lock:
            for owner_id in {r.owner_id for r in rows}:
                self._t.require_user(owner_id)
            ids = [r.id for r in rows]
            taken = [i for i in ids if i in self._t.executions]
            if taken or len(set(ids)) != len(ids):
                raise ConflictError(f"execution ids already exist: {taken or ids}")
            for row in rows:
                self._t.executions[row.id] = row

    def get(self, scope: Scope, execution_id: str) -> ExecutionRecord:
        with self._t.lock:
            return detach(owned(self._t.executions, scope, execution_id, "execution"))

    def update(self, scope: Scope, execution_id: str, **changes: Any) -> ExecutionRecord:
        values = _checked(changes)
        with self._t.lock:
            row = replace(owned(self._t.executions, scope, execution_id, "execution"), **values)
            self._t.executions[execution_id] = row
            return detach(row)

    def delete(self, scope: Scope, execution_id: str) -> None:
        with self._t.lock:
            owned(self._t.executions, scope, execution_id, "execution")
            del self._t.executions[execution_id]

    def list(
        self,
        scope: Scope,
        *,
        workflow_id: str | None = None,
        automation_id: str | None = None,
        status: str | Sequence[str] | None = None,
        trigger: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        has_warnings: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        statuses = _statuses(status)
        after = utc(created_after, "created_after")
        before = utc(created_before, "created_before")

        def keep(r: ExecutionRecord) -> bool:
            return (
                scope.allows(r.owner_id)
                and (workflow_id is None or r.workflow_id == workflow_id)
                and (automation_id is None or r.automation_id == automation_id)
                and (statuses is None or r.status in statuses)
                and (trigger is None or r.trigger == trigger)
                and (after is None or r.created_at >= after)
                and (before is None or r.created_at < before)
                and (has_warnings is None or r.has_warnings == has_warnings)
            )

        with self._t.lock:
            rows = [r for r in self._t.executions.values() if keep(r)]
            return paginate(rows, limit=limit, cursor=cursor, view=_summary)

    def start_many(
        self, execution_ids: Sequence[str], claimed_by: str, started_at: datetime
    ) -> set[str]:
        when = utc(started_at, "started_at")
        started: set[str] = set()
        with self._t.lock:
            for execution_id in execution_ids:
                row = self._t.executions.get(execution_id)
                if row is None or row.status != "queued":
                    continue
                self._t.executions[execution_id] = replace(
                    row, status="running", claimed_by=claimed_by, started_at=when
                )
                started.add(execution_id)
        return started

    def finish_many(self, results: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        checked = [(execution_id, _checked(changes)) for execution_id, changes in results]
        with self._t.lock:
            for execution_id, values in checked:
                row = self._t.executions.get(execution_id)
                if row is not None:
                    self._t.executions[execution_id] = replace(row, **values)

    def claim_queued(self, claimed_by: str, *, limit: int = 10) -> builtins.list[ExecutionRecord]:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        with self._t.lock:
            waiting = sorted(
                (r for r in self._t.executions.values()
                 if r.status == "queued" and r.claimed_by is None),
                key=lambda r: (r.created_at, r.id),
            )[:limit]  # fmt: skip
            claimed = [replace(r, claimed_by=claimed_by) for r in waiting]
            for row in claimed:
                self._t.executions[row.id] = row
            return [detach(row) for row in claimed]

    def reclaim(self, execution_id: str, *, expected: str | None, claimed_by: str | None) -> bool:
        with self._t.lock:
            row = self._t.executions.get(execution_id)
            if row is None or row.status != "queued" or row.claimed_by != expected:
                return False
            self._t.executions[execution_id] = replace(row, claimed_by=claimed_by)
            return True

    def active_for_automations(self, automation_ids: Iterable[str]) -> dict[str, str]:
        wanted = set(automation_ids)
        found: dict[str, str] = {}
        with self._t.lock:
            for r in self._t.executions.values():
                key = r.automation_id
                if key is None or key not in wanted or r.status not in ("queued", "running"):
                    continue
                if key not in found or r.id < found[key]:
                    found[key] = r.id
        return found

    def count(self, *, status: str | Sequence[str], owner_id: str | None = None) -> int:
        statuses = _statuses(status) or frozenset()
        with self._t.lock:
            return sum(
                1
                for r in self._t.executions.values()
                if r.status in statuses and (owner_id is None or r.owner_id == owner_id)
            )

    def prune(
        self,
        *,
        older_than: datetime | None = None,
        keep_per_workflow: int | None = None,
        batch_size: int = 500,
    ) -> int:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if keep_per_workflow is not None and keep_per_workflow < 0:
            raise ValueError("keep_per_workflow cannot be negative")
        cutoff = utc(older_than, "older_than")
        with self._t.lock:
            victims = self._prune_candidates(cutoff, keep_per_workflow)
        deleted = 0
        # one batch per lock hold, like one transaction per batch in SQL: writers get in between
        for start in range(0, len(victims), batch_size):
            with self._t.lock:
                for execution_id in victims[start : start + batch_size]:
                    row = self._t.executions.get(execution_id)
                    if row is not None and row.status not in ACTIVE_STATUSES:
                        del self._t.executions[execution_id]
                        deleted += 1
        return deleted

    def _prune_candidates(self, cutoff: datetime | None, keep: int | None) -> builtins.list[str]:
        finished = [r for r in self._t.executions.values() if r.status not in ACTIVE_STATUSES]
        victims: set[str] = set()
        if cutoff is not None:
            victims.update(r.id for r in finished if r.created_at < cutoff)
        if keep is not None:
            by_workflow: dict[str, builtins.list[ExecutionRecord]] = {}
            for r in finished:
                if r.workflow_id is not None:
                    by_workflow.setdefault(r.workflow_id, []).append(r)
            for rows in by_workflow.values():
                rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
                victims.update(r.id for r in rows[keep:])
        # oldest first, so an interrupted prune has removed the least valuable rows
        return sorted(victims, key=lambda i: (self._t.executions[i].created_at, i))


def _checked(changes: Mapping[str, Any]) -> dict[str, Any]:
    values = check_changes("execution", dict(changes), EXECUTION_FIELDS)
    if "warnings" in values and values["warnings"] is None:
        values["warnings"] = []  # what the SQL backend gives back for NULL
    return values


def _statuses(status: str | Sequence[str] | None) -> frozenset[str] | None:
    if status is None:
        return None
    return frozenset([status] if isinstance(status, str) else status)
