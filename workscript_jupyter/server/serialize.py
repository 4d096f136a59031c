"""Store records → the REST API's JSON: camelCase keys, ISO 8601 UTC times ending in ``Z``.

One function per record kind, so the REST handlers, the aliases and the WebSocket agree on a
shape. Records are never sent whole: ``trigger_data`` (it holds the definition snapshot) and
``claimed_by`` stay on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..engine.visible_state import visible_state
from ..store.records import Automation, ExecutionRecord, Page, ScheduleFire, WorkflowRecord

__all__ = [
    "FINISHED_STATUSES",
    "WEBHOOK_PATH",
    "automation_json",
    "execution_json",
    "execution_summary_json",
    "fire_json",
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


def _stored_time(value: Any) -> str | None:
    """A time kept as ISO text in a JSON column, in the API's form."""
    if not isinstance(value, str):
        return None
    try:
        return iso(datetime.fromisoformat(value))
    except ValueError:
        return None


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
        "scheduledFor": _stored_time(record.trigger_data.get("scheduledFor")),
        "parentExecutionId": _parent_id(record.trigger_data.get("parentExecutionId")),
        "warnings": record.warnings,
        "hasWarnings": record.has_warnings,
    }


def _parent_id(value: Any) -> str | None:
    """The run that started this one (runWorkflow), from its trigger data."""
    return value if isinstance(value, str) and value else None


def execution_json(record: ExecutionRecord) -> dict[str, Any]:
    """The whole run: summary fields plus initialState, finalState and timeline."""
    body = execution_summary_json(record)
    body["initialState"] = record.initial_state
    body["finalState"] = visible_state(record.final_state)
    body["timeline"] = record.timeline
    return body


def run_result_json(record: ExecutionRecord) -> dict[str, Any]:
    """The original's ``POST /workflows/run`` answer."""
    return {
        "executionId": record.id,
        "workflowId": record.workflow_id,
        "status": record.status,
        "finalState": visible_state(record.final_state),
        "error": record.error,
        "startedAt": iso(record.started_at),
        "endedAt": iso(record.ended_at),
        "durationMs": record.duration_ms,
        "nodeRuns": record.node_runs,
    }


WEBHOOK_PATH = "/workscript/hooks/"


def automation_json(record: Automation, *, token: str | None = None) -> dict[str, Any]:
    """An automation. A webhook token is only ever in the answer that created (or rotated) it:
    the store keeps its hash."""
    body: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "ownerId": record.owner_id,
        "workflowId": record.workflow_id,
        "notebookPath": record.notebook_path,
        "parameters": record.parameters,
        "triggerType": record.trigger_type,
        "cron": record.cron_expression,
        "timezone": record.timezone,
        "triggerConfig": {"cronExpression": record.cron_expression, "timezone": record.timezone},
        "enabled": record.enabled,
        "misfirePolicy": record.misfire_policy,
        "misfireGraceSeconds": record.misfire_grace_seconds,
        "overlapPolicy": record.overlap_policy,
        "retries": {
            "count": record.retry_count,
            "delaySeconds": record.retry_delay_seconds,
            "backoff": record.retry_backoff,
        },
        "timeoutSeconds": record.timeout_seconds,
        "hasWebhookToken": record.webhook_token_hash is not None,
        "nextRunAt": iso(record.next_run_at),
        "lastRunAt": iso(record.last_run_at),
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }
    if token is not None:
        body["webhookToken"] = token
        body["webhookPath"] = WEBHOOK_PATH + token
        body["triggerConfig"]["webhookUrl"] = WEBHOOK_PATH + token
    return body


def fire_json(fire: ScheduleFire) -> dict[str, Any]:
    return {
        "id": fire.id,
        "automationId": fire.automation_id,
        "scheduledFor": iso(fire.scheduled_for),
        "claimedBy": fire.claimed_by,
        "claimedAt": iso(fire.claimed_at),
        "outcome": fire.outcome,
        "reason": fire.reason,
        "executionId": fire.execution_id,
    }


def page_json(page: Page, item: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [item(record) for record in page.items], "nextCursor": page.next_cursor}
