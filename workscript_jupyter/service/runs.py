"""``Runs``: start, wait, list, read, cancel, rerun and delete runs, scoped to the caller.

Needs the store, the registry and limits (to parse and admit a run), the ``RunQueue`` (this
server's claim and pool) and the ``RunExecutor`` (the final event of a run cancelled elsewhere).

A run is created ``queued`` with the snapshot of its definition in ``trigger_data["definition"]``
(a rerun uses it, so editing or deleting the workflow later does not change what a run was) and
its whole initial state (the workflow's ``initialState`` with the caller's keys over it), then
handed to this server's worker pool (``claimed_by`` = this server).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from ..engine import EngineLimits, NodeRegistry, Workflow, copy_json
from ..engine.result import iso_time
from ..errors import (
    BadRequestError,
    RecordNotFoundError,
    UnprocessableError,
    WorkflowValidationError,
)
from ..store.base import Store
from ..store.records import ExecutionRecord, Page, new_ordered_id, utcnow
from .common import check_limit, optional_mapping, optional_str, store_call
from .definition_limits import parse_definition
from .execute import RunExecutor, run_error
from .owners import with_acting_key
from .parsed_workflows import ParsedWorkflows
from .pool import Job
from .run_queue import RunQueue
from .run_writes import RETRY_AFTER_SECONDS
from .values import ACTIVE_STATUSES, ALL_STATUSES, Caller, RunLimits

__all__ = ["RETRY_AFTER_SECONDS", "Runs"]

TRIGGER_MAX: Final = 20
_POLL_SECONDS: Final = 0.2


class Runs:
    """The run use cases."""

    def __init__(
        self,
        store: Store,
        registry: NodeRegistry,
        *,
        engine_limits: EngineLimits,
        limits: RunLimits,
        queue: RunQueue,
        executor: RunExecutor,
        parsed: ParsedWorkflows | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.engine_limits = engine_limits
        self.limits = limits
        self._queue = queue
        self._pool = queue.pool
        self._executor = executor
        self._parsed = parsed or ParsedWorkflows(registry, engine_limits)  # once per version

    async def start_run(
        self,
        caller: Caller,
        *,
        workflow_id: str | None = None,
        definition: dict[str, Any] | None = None,
        initial_state: dict[str, Any] | None = None,
        trigger: str = "api",
        trigger_data: dict[str, Any] | None = None,
    ) -> ExecutionRecord:
        if (workflow_id is None) == (definition is None):
            raise BadRequestError(
                "give exactly one of workflowId and definition",
                details=[{"field": "workflowId|definition", "message": "exactly one"}],
            )
        given_state = optional_mapping("initialState", initial_state) or {}
        data = dict(optional_mapping("triggerData", trigger_data) or {})
        trigger = _trigger(trigger)
        record_workflow_id: str | None = None
        if workflow_id is not None:
            if not isinstance(workflow_id, str) or not workflow_id:
                raise BadRequestError(f"workflowId must be a non-empty string, not {workflow_id!r}")
            saved = await store_call(self.store.workflows.get, caller.scope, workflow_id)
            definition, record_workflow_id = saved.definition, saved.id
            version: tuple[Any, ...] | None = (saved.id, saved.updated_at, None)
        else:
            version = None  # an inline definition: parsed for this run
        # WorkflowValidationError; a big definition is parsed off the loop
        workflow = await self._parsed.parse(definition, version)
        state = copy_json(dict(workflow.initial_state))
        state.update(given_state)
        data["definition"] = definition
        return await self._enqueue(caller, workflow, record_workflow_id, state, trigger, data)

    async def wait_for(self, caller: Caller, execution_id: str, timeout: float) -> ExecutionRecord:
        """The record once the run has ended, or as it is when ``timeout`` seconds have passed."""
        record = await self.get_execution(caller, execution_id)
        if record.status not in ACTIVE_STATUSES or timeout <= 0:
            return record
        deadline = time.monotonic() + timeout
        job = self._pool.job(execution_id)
        if job is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(job.done), timeout)
            return await self.get_execution(caller, execution_id)
        while True:  # run by another server or worker: follow the store
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return record
            await asyncio.sleep(min(_POLL_SECONDS, remaining))
            record = await self.get_execution(caller, execution_id)
            if record.status not in ACTIVE_STATUSES:
                return record

    async def list_executions(
        self,
        caller: Caller,
        *,
        workflow_id: str | None = None,
        status: str | Sequence[str] | None = None,
        trigger: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        has_warnings: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        if has_warnings is not None and not isinstance(has_warnings, bool):
            raise BadRequestError(f"hasWarnings must be true or false, not {has_warnings!r}")
        for name, value in (("createdAfter", created_after), ("createdBefore", created_before)):
            if value is not None and not isinstance(value, datetime):
                raise BadRequestError(f"{name} must be a date and time, not {value!r}")
        return await store_call(
            self.store.executions.list,
            caller.scope,
            workflow_id=optional_str("workflowId", workflow_id),
            status=_statuses(status),
            trigger=optional_str("trigger", trigger),
            created_after=created_after,
            created_before=created_before,
            has_warnings=has_warnings,
            limit=check_limit(limit),
            cursor=optional_str("cursor", cursor),
        )

    async def get_execution(self, caller: Caller, execution_id: str) -> ExecutionRecord:
        if not isinstance(execution_id, str) or not execution_id:
            raise BadRequestError(f"an id must be a non-empty string, not {execution_id!r}")
        return await store_call(self.store.executions.get, caller.scope, execution_id)

    async def get_timeline(
        self, caller: Caller, execution_id: str
    ) -> tuple[list[dict[str, Any]], bool]:
        """The run's node timeline, and whether it is live. A run going on in this process is
        read from its engine: the node runs that ended, then the nodes running now (``running``,
        their duration so far); any other run gives its stored timeline (written at its end)."""
        record = await self.get_execution(caller, execution_id)
        job = self._pool.job(execution_id) if record.status == "running" else None
        execution = job.execution if job is not None else None
        if job is None or execution is None:
            return list(record.timeline), False
        entries = [entry.to_dict() for entry in execution.timeline]
        now = time.time()
        for path, (node_type, started) in list(job.running_nodes.items()):
            entries.append(
                {
                    "path": path,
                    "type": node_type,
                    "edge": None,
                    "startedAt": iso_time(started),
                    "durationMs": round(max(0.0, now - started) * 1000, 3),
                    "error": None,
                    "running": True,
                }
            )
        return entries, True

    async def cancel_execution(self, caller: Caller, execution_id: str) -> ExecutionRecord:
        """Queued: cancelled at once. Running: the engine stops it; returns once recorded.
        Already ended: UnprocessableError."""
        record = await self.get_execution(caller, execution_id)
        if record.status not in ACTIVE_STATUSES:
            raise UnprocessableError(
                f"the run has already ended ({record.status}): there is nothing to cancel",
                details={"status": record.status},
            )
        if await self._pool.cancel(execution_id):
            return await self.get_execution(caller, execution_id)
        # not in this server's pool: queued for (or left running by) another server or worker
        ended_at = utcnow()
        started = record.started_at
        error = run_error("CANCELLED", "the run was cancelled")
        updated = await store_call(
            self.store.executions.update,
            caller.scope,
            execution_id,
            status="cancelled",
            error=error,
            ended_at=ended_at,
            duration_ms=(ended_at - started).total_seconds() * 1000 if started else None,
        )
        self._executor.publish_final(
            execution_id,
            _event_workflow_id(updated),
            updated.owner_id,
            "workflow:cancelled",
            {"status": "cancelled", "durationMs": updated.duration_ms or 0.0, "error": error},
        )
        return updated

    async def rerun_execution(self, caller: Caller, execution_id: str) -> ExecutionRecord:
        """A new queued run of the same definition snapshot and initial state."""
        record = await self.get_execution(caller, execution_id)
        definition = record.trigger_data.get("definition")
        if record.workflow_id is not None:
            try:
                saved = await store_call(self.store.workflows.get, caller.scope, record.workflow_id)
            except RecordNotFoundError:
                raise UnprocessableError(
                    f"the workflow {record.workflow_id!r} of this run no longer exists",
                    details={"workflowId": record.workflow_id},
                ) from None
            if not isinstance(definition, dict):  # a run recorded without a snapshot
                definition = saved.definition
        if not isinstance(definition, dict):
            raise UnprocessableError("this run kept no definition to run again")
        try:
            workflow = await parse_definition(definition, self.registry, self.engine_limits)
        except WorkflowValidationError as exc:
            raise UnprocessableError(
                f"the run's definition is no longer valid: {exc.message}", details=exc.to_list()
            ) from None
        data = {"rerunOf": record.id, "definition": definition}
        state = record.initial_state
        return await self._enqueue(caller, workflow, record.workflow_id, state, "manual", data)

    async def delete_execution(self, caller: Caller, execution_id: str) -> None:
        """A queued run is taken out of the queue and deleted; a running one must be cancelled
        first (UnprocessableError)."""
        record = await self.get_execution(caller, execution_id)
        if record.status == "running" or self._pool.is_started(execution_id):
            raise UnprocessableError(
                "the run is running: cancel it before deleting it",
                details={"status": "running"},
            )
        self._pool.discard(execution_id)
        await store_call(self.store.executions.delete, caller.scope, execution_id)

    # -- internals ----------------------------------------------------------------------------

    async def _enqueue(
        self,
        caller: Caller,
        workflow: Workflow,
        workflow_id: str | None,
        state: dict[str, Any],
        trigger: str,
        trigger_data: dict[str, Any],
    ) -> ExecutionRecord:
        # a run started with an API key keeps the key's permissions wherever it runs later
        # (a worker, a retry, a takeover: owners.py), never its owner's full set
        trigger_data = with_acting_key(trigger_data, caller)
        record = ExecutionRecord(
            id=new_ordered_id(),  # time-ordered: appended at the index's edge
            owner_id=caller.user.id,
            status="queued",
            trigger=trigger,
            workflow_id=workflow_id,
            initial_state=state,
            trigger_data=trigger_data,
            # claimed in the very insert: a record inserted unclaimed could be claimed by a
            # queue worker before this server claims it, and reach the pool twice
            claimed_by=self._queue.claimed_by,
            created_at=utcnow(),
        )
        # counted against the owner's limit and stored with the other runs of this moment
        # (run_writes.py); TooManyRunsError past the limit
        await self._executor.writes.insert(
            record, admission_limit=self.limits.max_queued_runs_per_user
        )
        if self._queue.run_workers:
            # the run gets a state of its own: the engine changes it while the caller may
            # still be reading the record returned here
            own = dataclasses.replace(record, initial_state=copy_json(record.initial_state))
            job = Job(record.id, caller, workflow_id or workflow.id, record=own)
            job.workflow = workflow  # parsed once, here
            self._pool.submit(job)
        return record


def _trigger(value: Any) -> str:
    text = optional_str("trigger", value, max_length=TRIGGER_MAX)
    if not text:
        raise BadRequestError("trigger must be a non-empty string")
    return text


def _statuses(status: str | Sequence[str] | None) -> list[str] | None:
    if status is None:
        return None
    if isinstance(status, str):
        values = [s.strip() for s in status.split(",") if s.strip()]
    elif isinstance(status, Sequence) and all(isinstance(s, str) for s in status):
        values = [s.strip() for s in status]
    else:
        raise BadRequestError(f"status must be a string or a list of strings, not {status!r}")
    unknown = sorted(set(values) - ALL_STATUSES)
    if unknown:
        raise BadRequestError(
            f"unknown status {', '.join(unknown)} (one of {', '.join(sorted(ALL_STATUSES))})",
            details=[{"field": "status", "message": f"unknown: {s}"} for s in unknown],
        )
    return values or None


def _event_workflow_id(record: ExecutionRecord) -> str:
    if record.workflow_id:
        return record.workflow_id
    definition = record.trigger_data.get("definition")
    return str(definition.get("id", "")) if isinstance(definition, dict) else ""
