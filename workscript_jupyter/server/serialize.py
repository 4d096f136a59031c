"""Store records → the REST API's JSON: camelCase keys, ISO 8601 UTC times ending in ``Z``.

One function per record kind, so the REST handlers, the aliases and the WebSocket agree on a
shape. Records are never sent whole: ``trigger_data`` (it holds the definition snapshot) and
``claimed_by`` stay on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..store.records import ExecutionRecord, Page, WorkflowRecord

__all__ = [
    "FINISHED_STATUSES",
    "execution_json",
    "execution_summary_json",
    "iso",
    "page_json",
    "run_result_json",
    "workflow_json",
]

FINISHED_STATUSES = frozenset({"completed", "failed", "timed_out", "cancelled", "interrupted"})


def iso(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123Z``; naive times are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def workflow_json(record: WorkflowRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "version": record.version,
        "definition": record.definition,
        "ownerId": record.owner_id,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }


def execution_summary_json(record: ExecutionRecord) -> dict[str, Any]:
    """A list item: the record without its states and timeline."""
    return {
        "id": record.id,
        "workflowId": record.workflow_id,
        "automationId": record.automation_id,
        "ownerId": record.owner_id,
        "status": record.status,
        "trigger": record.trigger,
        "error": record.error,
        "nodeRuns": record.node_runs,
        "attempt": record.attempt,
        "createdAt": iso(record.created_at),
        "startedAt": iso(record.started_at),
        "endedAt": iso(record.ended_at),
        "durationMs": record.duration_ms,
    }


def execution_json(record: ExecutionRecord) -> dict[str, Any]:
    """The whole run: summary fields plus initialState, finalState and timeline."""
    body = execution_summary_json(record)
    body["initialState"] = record.initial_state
    body["finalState"] = record.final_state
    body["timeline"] = record.timeline
    return body


def run_result_json(record: ExecutionRecord) -> dict[str, Any]:
    """The original's ``POST /workflows/run`` answer."""
    return {
        "executionId": record.id,
        "workflowId": record.workflow_id,
        "status": record.status,
        "finalState": record.final_state,
        "error": record.error,
        "startedAt": iso(record.started_at),
        "endedAt": iso(record.ended_at),
        "durationMs": record.duration_ms,
        "nodeRuns": record.node_runs,
    }


def page_json(page: Page, item: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [item(record) for record in page.items], "nextCursor": page.next_cursor}
