"""The SELECT behind a page of runs, built so that every filter reads one index in order.

The runs list is the query that grows with the history: a page must cost the same with a
million runs as with a thousand. Each filter therefore has an index that starts with its
equality columns and ends with ``(created_at, id)``, the page's order (tables.py), so the
database walks that index backwards from the cursor and stops after ``limit + 1`` rows: no
sort, no scan of the table.

A list of several statuses would break that: ``status IN (a, b)`` matches two separate runs of
the ``(status, created_at, id)`` index, and the database would have to sort every matching row
to merge them. So each status gets its own branch, ordered and limited by the index, and only
the few rows those branches return (at most ``limit + 1`` each) are merged and sorted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select, union_all

from ..records import Scope
from ..tables import workflow_executions as runs
from .common import keyset, owned

__all__ = ["LARGE_COLUMNS", "SUMMARY_COLUMNS", "page_query"]

LARGE_COLUMNS = frozenset({"timeline", "initial_state", "final_state"})
SUMMARY_COLUMNS = [column for column in runs.c if column.name not in LARGE_COLUMNS]


def page_query(
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
) -> Select[Any]:
    """The statement ``ExecutionStore.list`` runs: summary columns, newest first, ``limit + 1``
    rows (the extra one says that more follow)."""
    narrowed = workflow_id is not None or automation_id is not None
    conditions = _owner_test(scope) if narrowed else owned(runs, scope)
    if workflow_id is not None:
        conditions.append(runs.c.workflow_id == workflow_id)
    if automation_id is not None:
        conditions.append(runs.c.automation_id == automation_id)
    if trigger is not None:
        conditions.append(runs.c.trigger == trigger)
    if created_after is not None:
        conditions.append(runs.c.created_at >= created_after)
    if created_before is not None:
        conditions.append(runs.c.created_at < created_before)
    if has_warnings is not None:
        conditions.append(runs.c.has_warnings == bool(has_warnings))  # IS TRUE: no index on MySQL
    statuses = None if status is None else _distinct(status)
    if statuses is None or len(statuses) < 2:
        if statuses == []:  # no status asked for: no run
            conditions.append(false())
        elif statuses:  # one status: an equality, which its index serves in order
            conditions.append(runs.c.status == statuses[0])
        return _ordered(conditions, cursor, limit)
    branches = [
        select(_ordered([*conditions, runs.c.status == one], cursor, limit).subquery())
        for one in statuses
    ]
    merged = union_all(*branches).subquery("runs_page")
    return (
        select(*(merged.c[column.name] for column in SUMMARY_COLUMNS))
        .order_by(merged.c.created_at.desc(), merged.c.id.desc())
        .limit(limit + 1)
    )


def _owner_test(scope: Scope) -> list[ColumnElement[bool]]:
    """The owner filter of a page of one workflow's or one automation's runs, written so that no
    index can serve it (``coalesce`` of a NOT NULL column: the same test).

    Those runs are few and nearly all of one owner, so the right plan reads the workflow's (or
    automation's) index and tests the owner on each row. Given an index-ready ``owner_id = ?``
    too, SQLite, which keeps no statistics unless ANALYZE runs, may walk all of the owner's runs
    instead, testing the workflow on each: a page of a workflow that has few runs would then
    cost the owner's whole history.
    """
    if scope.is_admin:
        return []
    return [func.coalesce(runs.c.owner_id, "") == scope.user_id]


def _ordered(conditions: list[ColumnElement[bool]], cursor: str | None, limit: int) -> Select[Any]:
    return keyset(
        select(*SUMMARY_COLUMNS).where(*conditions), runs.c.created_at, runs.c.id, cursor, limit
    )


def _distinct(status: str | Sequence[str]) -> list[str]:
    return [status] if isinstance(status, str) else list(dict.fromkeys(status))
