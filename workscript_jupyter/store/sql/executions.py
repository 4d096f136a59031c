"""Runs in SQL: one table for every run, summaries for lists, batched inserts and pruning.

Lists select only the summary columns (never the timeline or the states, which can be large),
through an index in page order whatever the filter (``run_pages``), so a page reads a few rows
whatever the size of the table. Updates write only the columns that changed, so two
writers of the same run never undo each other's other columns. Pruning deletes a bounded batch
of ids per transaction, so it never holds locks on the table for long.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, insert, select, update

from ...errors import RecordNotFoundError
from ..base import EXECUTION_FIELDS, ExecutionStore
from ..records import ExecutionRecord, Page, Scope, new_ordered_id
from ..tables import workflow_executions as runs
from .common import (
    Database,
    Duplicates,
    check_changes,
    delete_owned,
    get_owned,
    json_copy,
    owned,
    to_page,
    to_record,
)
from .run_pages import page_query

__all__ = ["ACTIVE_STATUSES", "SqlExecutionStore", "execution_row"]

KIND = "execution"
ACTIVE_STATUSES = ("queued", "running")  # never pruned
_INSERT_CHUNK = 1000
_COLUMN_NAMES = tuple(runs.c.keys())


def _summary(row: Any) -> ExecutionRecord:
    return to_record(ExecutionRecord, row, timeline=[], initial_state={}, final_state=None)


def execution_row(record: ExecutionRecord) -> dict[str, Any]:
    # getattr, not dataclasses.asdict: asdict deep-copies every timeline, which costs more
    # than the insert itself in a batch of thousands of runs.
    row = {name: getattr(record, name) for name in _COLUMN_NAMES}
    row["warnings"] = row["warnings"] or None
    return row


def _with_flag(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``has_warnings`` follows ``warnings`` (the indexed flag the runs list filters on)."""
    if "warnings" not in changes:
        return dict(changes)
    warnings = changes["warnings"] or None  # NULL, not [], for the many runs without any
    return {**changes, "warnings": warnings, "has_warnings": warnings is not None}


def _statuses(status: str | Sequence[str]) -> list[str]:
    return [status] if isinstance(status, str) else list(status)


class SqlExecutionStore(ExecutionStore):
    def __init__(self, db: Database) -> None:
        self._db = db

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
            initial_state=json_copy(initial_state or {}),
            trigger_data=json_copy(trigger_data or {}),
        )
        with self._db.begin(
            Duplicates(KIND, "workflow_executions", record_id=record.id, owner_id=scope.user_id)
        ) as conn:
            conn.execute(insert(runs).values(execution_row(record)))
        return record

    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        """One transaction; one executemany INSERT per chunk, which PyMySQL sends as
        multi-row INSERTs (far fewer round trips than one statement per run)."""
        rows = [execution_row(record) for record in records]
        if not rows:
            return
        duplicates = Duplicates(KIND, "workflow_executions", record_id=None)
        with self._db.begin(duplicates) as connection:
            for start in range(0, len(rows), _INSERT_CHUNK):
                connection.execute(insert(runs), rows[start : start + _INSERT_CHUNK])

    def get(self, scope: Scope, execution_id: str) -> ExecutionRecord:
        with self._db.read() as connection:
            return get_owned(connection, runs, execution_id, scope, KIND, ExecutionRecord)

    def update(self, scope: Scope, execution_id: str, **changes: Any) -> ExecutionRecord:
        check_changes(KIND, changes, EXECUTION_FIELDS)
        changes = _with_flag(changes)
        with self._db.begin() as connection:
            # The UPDATE comes first: it takes the row (or SQLite's write) lock before the read,
            # and the WHERE re-checks the owner, so there is no read-then-write race.
            condition = [runs.c.id == execution_id, *owned(runs, scope)]
            if changes:
                result = connection.execute(update(runs).where(*condition).values(changes))
                found = result.rowcount > 0
            else:
                found = connection.execute(select(runs.c.id).where(*condition)).first() is not None
            if not found:
                raise RecordNotFoundError(KIND, execution_id)
            row = connection.execute(select(runs).where(runs.c.id == execution_id)).one()
        return to_record(ExecutionRecord, row._mapping)

    def delete(self, scope: Scope, execution_id: str) -> None:
        with self._db.begin() as connection:
            delete_owned(connection, runs, execution_id, scope, KIND)

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
        statement = page_query(
            scope,
            workflow_id=workflow_id,
            automation_id=automation_id,
            status=status,
            trigger=trigger,
            created_after=created_after,
            created_before=created_before,
            has_warnings=has_warnings,
            limit=limit,
            cursor=cursor,
        )
        with self._db.read() as connection:
            rows = connection.execute(statement).all()
        return to_page(rows, limit, _summary)

    def start_many(
        self, execution_ids: Sequence[str], claimed_by: str, started_at: datetime
    ) -> set[str]:
        ids = list(dict.fromkeys(execution_ids))
        if not ids:
            return set()
        with self._db.begin() as connection:
            result = connection.execute(
                update(runs)
                .where(runs.c.id.in_(ids), runs.c.status == "queued")
                .values(status="running", claimed_by=claimed_by, started_at=started_at)
            )
            if result.rowcount == len(ids):
                return set(ids)
            if result.rowcount == 0:
                return set()
            started = connection.execute(  # in the same transaction: only the rows just set
                select(runs.c.id).where(
                    runs.c.id.in_(ids),
                    runs.c.status == "running",
                    runs.c.claimed_by == claimed_by,
                    runs.c.started_at == started_at,
                )
            ).scalars()
            return set(started)

    def finish_many(self, results: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        if not results:
            return
        names = sorted(results[0][1])
        for _, changes in results:
            check_changes(KIND, changes, EXECUTION_FIELDS)
            if sorted(changes) != names:
                raise ValueError("finish_many: every run must change the same fields")
        results = [(execution_id, _with_flag(changes)) for execution_id, changes in results]
        names = sorted(results[0][1])
        statement = (
            update(runs)
            .where(runs.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}", type_=runs.c[name].type) for name in names})
        )
        rows = [
            {"b_id": execution_id, **{f"b_{name}": changes[name] for name in names}}
            for execution_id, changes in results
        ]
        with self._db.begin() as connection:
            connection.execute(statement, rows)

    def claim_queued(self, claimed_by: str, *, limit: int = 10) -> builtins.list[ExecutionRecord]:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        pick = (
            select(runs.c.id)
            .where(runs.c.status == "queued", runs.c.claimed_by.is_(None))
            .order_by(runs.c.created_at, runs.c.id)
            .limit(limit)
        )
        if self._db.engine.dialect.name in ("mysql", "mariadb"):
            pick = pick.with_for_update(skip_locked=True)
        with self._db.begin() as connection:
            ids = list(connection.execute(pick).scalars())
            if not ids:
                return []
            # the IS NULL re-check makes the claim safe where rows cannot be locked (SQLite)
            connection.execute(
                update(runs)
                .where(runs.c.id.in_(ids), runs.c.claimed_by.is_(None))
                .values(claimed_by=claimed_by)
            )
            rows = connection.execute(
                select(runs)
                .where(runs.c.id.in_(ids), runs.c.claimed_by == claimed_by)
                .order_by(runs.c.created_at, runs.c.id)
            ).all()
        return [to_record(ExecutionRecord, row._mapping) for row in rows]

    def reclaim(self, execution_id: str, *, expected: str | None, claimed_by: str | None) -> bool:
        holder = runs.c.claimed_by.is_(None) if expected is None else runs.c.claimed_by == expected
        with self._db.begin() as connection:
            result = connection.execute(
                update(runs)
                .where(runs.c.id == execution_id, runs.c.status == "queued", holder)
                .values(claimed_by=claimed_by)
            )
            return bool(result.rowcount)

    def active_for_automations(self, automation_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(automation_ids))
        if not ids:
            return {}
        statement = (
            select(runs.c.automation_id, func.min(runs.c.id))
            .where(runs.c.automation_id.in_(ids), runs.c.status.in_(ACTIVE_STATUSES))
            .group_by(runs.c.automation_id)
        )
        with self._db.read() as connection:
            return {row[0]: row[1] for row in connection.execute(statement)}

    def count(self, *, status: str | Sequence[str], owner_id: str | None = None) -> int:
        statement = select(func.count()).select_from(runs)
        statement = statement.where(runs.c.status.in_(_statuses(status)))
        if owner_id is not None:
            statement = statement.where(runs.c.owner_id == owner_id)
        with self._db.read() as connection:
            return int(connection.execute(statement).scalar_one())

    def prune(
        self,
        *,
        older_than: datetime | None = None,
        keep_per_workflow: int | None = None,
        batch_size: int = 500,
    ) -> int:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        if keep_per_workflow is not None and keep_per_workflow < 0:
            raise ValueError(f"keep_per_workflow must be 0 or more, not {keep_per_workflow!r}")
        deleted = 0
        if older_than is not None:
            deleted += self._prune_where([runs.c.created_at < older_than], batch_size)
        if keep_per_workflow is not None:
            with self._db.read() as connection:
                workflow_ids = connection.execute(
                    select(runs.c.workflow_id).where(runs.c.workflow_id.is_not(None)).distinct()
                ).scalars().all()  # fmt: skip
            for workflow_id in workflow_ids:
                deleted += self._prune_workflow(workflow_id, keep_per_workflow, batch_size)
        return deleted

    def _prune_workflow(self, workflow_id: str, keep: int, batch_size: int) -> int:
        """Delete the finished runs of a workflow older than its ``keep``-th newest finished
        run (active runs neither count nor go)."""
        in_workflow = runs.c.workflow_id == workflow_id
        if keep == 0:
            return self._prune_where([in_workflow], batch_size)
        with self._db.read() as connection:
            boundary = connection.execute(
                select(runs.c.created_at, runs.c.id)
                .where(in_workflow, runs.c.status.not_in(ACTIVE_STATUSES))
                .order_by(runs.c.created_at.desc(), runs.c.id.desc())
                .offset(keep - 1)
                .limit(1)
            ).first()
        if boundary is None:
            return 0
        at, last_id = boundary
        older = (runs.c.created_at < at) | ((runs.c.created_at == at) & (runs.c.id < last_id))
        return self._prune_where([in_workflow, runs.c.created_at <= at, older], batch_size)

    def _prune_where(self, conditions: Sequence[ColumnElement[bool]], batch_size: int) -> int:
        """Select a batch of ids, delete them in a short transaction, until none is left.

        Ids are selected first and deleted with ``IN (...)`` because MariaDB refuses a CTE or
        a LIMIT-ed subquery on the same table inside DELETE; the DELETE re-checks the status
        so a run that became active in between is kept.
        """
        finished = runs.c.status.not_in(ACTIVE_STATUSES)
        total = 0
        while True:
            with self._db.read() as connection:
                ids = connection.execute(
                    select(runs.c.id)
                    .where(*conditions, finished)
                    .order_by(runs.c.created_at, runs.c.id)
                    .limit(batch_size)
                ).scalars().all()  # fmt: skip
            if not ids:
                return total
            with self._db.begin() as connection:
                total += self._delete_ids(connection, list(ids), finished)
            if len(ids) < batch_size:
                return total

    @staticmethod
    def _delete_ids(
        connection: Connection, ids: Sequence[str], finished: ColumnElement[bool]
    ) -> int:
        result = connection.execute(delete(runs).where(runs.c.id.in_(ids), finished))
        return int(result.rowcount)
