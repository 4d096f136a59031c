"""One run, as a worker of the pool executes it: the engine's Execution between two records.

Order, which clients rely on (a client reacting to an event and reading the REST API sees the
same state):

1. the record becomes ``running`` (``started_at``, ``claimed_by``), then ``workflow:started`` is
   published;
2. node events are published as they happen;
3. the final record (status, final state, error, timeline, node runs, ``ended_at``, duration) is
   written, then the final ``workflow:completed|failed|cancelled`` event is published.

Every event carries the store's execution id, the record's workflow id (or the definition's id
for an unsaved workflow) and ``ownerId`` in its payload, so the WebSocket can filter by reader.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from ..engine import (
    DEFAULT_LIMITS,
    EngineLimits,
    Event,
    EventBus,
    Execution,
    NodeRegistry,
    RunResult,
    parse_workflow,
)
from ..engine.documents import plain_json
from ..errors import (
    RecordNotFoundError,
    StoreError,
    StoreUnavailableError,
    WorkflowValidationError,
)
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import utcnow
from .pool import DropReason, Job
from .run_writes import RunWrites
from .values import ServicesFactory

if TYPE_CHECKING:
    from .stranded_runs import StrandedRuns

__all__ = ["FINAL_EVENTS", "RunExecutor", "run_error"]

log = logging.getLogger(__name__)

FINAL_EVENTS: Final = frozenset({"workflow:completed", "workflow:failed", "workflow:cancelled"})
MAX_WARNINGS: Final = 50  # kept in a run's record


def run_error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An ``error`` for a record and an event, in the shape of the engine's ``RunError``."""
    return {"message": message, "code": code, "nodePath": "", "nodeType": "", **extra}


class RunExecutor:
    def __init__(
        self,
        store: Store,
        registry: NodeRegistry,
        bus: EventBus,
        services_factory: ServicesFactory,
        server_id: str,
        *,
        writes: RunWrites | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.bus = bus
        self.services_factory = services_factory
        self.server_id = server_id
        self.engine_limits: EngineLimits = DEFAULT_LIMITS  # the service sets its own
        self.on_finished: Callable[[Job, str], None] | None = None  # after the final record
        self.final_writes: StrandedRuns | None = None  # retries final records through outages
        self.runs_started = 0
        # starts and final records go to the store in groups, with the inserts of new runs
        self.writes = writes if writes is not None else RunWrites(store, server_id)

    async def execute(self, job: Job) -> None:
        scope = job.caller.scope
        record = job.record  # queued by this process: no need to read it back
        if record is None:
            try:
                record = await run_off_loop(self.store.executions.get, scope, job.execution_id)
            except RecordNotFoundError:
                return  # deleted while it waited
        if record.status != "queued":
            return  # cancelled (or taken) elsewhere meanwhile
        if job.cancel_requested:
            await self.drop(job, "cancelled")
            return
        try:
            workflow = job.workflow or parse_workflow(
                record.trigger_data.get("definition"), self.registry, limits=self.engine_limits
            )
        except WorkflowValidationError as exc:  # the registry changed since it was queued
            error = run_error(exc.code, exc.message, details=exc.to_list())
            await self.finish_unstarted(job, "failed", error)
            return
        try:
            started, started_at = await self.writes.start(job.execution_id)
        except StoreUnavailableError as exc:  # still queued: the stranded-runs sweep marks it
            log.warning("run %s not started, the store is unavailable: %s", job.execution_id, exc)
            return
        if not started:
            return  # cancelled, deleted or started by another worker since it was queued
        self.runs_started += 1
        if job.cancel_requested:  # asked while the record was being written
            await self.finish_unstarted(job, "cancelled", _cancelled_error(), started_at)
            return
        try:
            services = self.services_factory(job.caller)
        except Exception as exc:
            log.exception("services_factory failed for run %s", job.execution_id)
            error = run_error("SERVICES_UNAVAILABLE", f"the run's services failed: {exc}")
            await self.finish_unstarted(job, "failed", error, started_at)
            return
        held: list[Event] = []
        owner_id, workflow_id, publish = job.owner_id, job.workflow_id, self.bus.publish

        running_nodes = job.running_nodes

        def on_event(event: Event) -> None:
            event.workflow_id = workflow_id
            payload = event.payload
            kind = event.type
            if kind == "node:started":
                running_nodes[payload["nodePath"]] = (payload["nodeType"], event.timestamp)
            elif kind == "node:completed" or kind == "node:failed":
                running_nodes.pop(payload.get("nodePath", ""), None)
            payload["ownerId"] = owner_id
            if event.type in FINAL_EVENTS:
                held.append(event)  # published once the final record is written
            else:
                publish(event)

        execution = Execution(
            workflow,
            self.registry,
            initial_state=record.initial_state,  # parsed for this run: no copy needed
            execution_id=job.execution_id,
            on_event=on_event,
            services=services,
            copy_initial_state=False,
            limits=self.engine_limits,
        )
        job.execution = execution
        result = await execution.run()
        job.execution = None
        await _settle(services, job.execution_id)

        def ended() -> None:  # once the final record is written (at once, or after an outage)
            if self.on_finished is not None:
                self.on_finished(job, result.status)
            for event in held:
                publish(event)

        await self._record_result(job, result, started_at, ended)

    async def drop(self, job: Job, reason: DropReason) -> None:
        """A run that never started: cancelled while queued, or the server stopping."""
        message = (
            "the run was cancelled before it started"
            if reason == "cancelled"
            else "the server stopped before the run started"
        )
        await self.finish_unstarted(job, "cancelled", run_error("CANCELLED", message))

    async def finish_unstarted(
        self,
        job: Job,
        status: str,
        error: dict[str, Any],
        started_at: datetime | None = None,
    ) -> None:
        """Record the end of a run whose Execution never ran, then publish its final event."""
        ended_at = utcnow()
        duration = (ended_at - started_at).total_seconds() * 1000 if started_at else None
        changes = {"status": status, "error": error, "ended_at": ended_at, "duration_ms": duration}
        kind = "workflow:cancelled" if status == "cancelled" else "workflow:failed"
        payload = {"status": status, "durationMs": duration or 0.0, "error": error}

        def ended() -> None:
            self.publish_final(job.execution_id, job.workflow_id, job.owner_id, kind, payload)

        await self._write_final(job, changes, ended)

    async def _write_final(
        self, job: Job, changes: dict[str, Any], ended: Callable[[], None]
    ) -> None:
        """One run's final record, retried through a store outage when a keeper is set."""
        if self.final_writes is not None:
            await self.final_writes.write(job.caller.scope, job.execution_id, changes, ended)
            return
        await run_off_loop(
            self.store.executions.update, job.caller.scope, job.execution_id, **changes
        )
        ended()

    def publish_final(
        self,
        execution_id: str,
        workflow_id: str,
        owner_id: str,
        kind: str,
        payload: dict[str, Any],
    ) -> None:
        payload = {**payload, "ownerId": owner_id}
        self.bus.publish(Event(kind, execution_id, workflow_id, payload))

    async def _record_result(
        self, job: Job, result: RunResult, started_at: datetime, ended: Callable[[], None]
    ) -> None:
        changes: dict[str, Any] = {
            "status": result.status,
            "final_state": result.final_state,
            "error": _run_error(result),
            "timeline": [entry.to_dict() for entry in result.timeline],
            "node_runs": result.node_runs,
            "ended_at": utcnow(),
            "duration_ms": round(result.duration_ms, 3),
            "warnings": _kept_warnings(result.warnings),
        }
        try:
            # queued with the other runs ending now; the slot goes to the next run at once, so
            # that its start is written in the same batch as this end
            written = self.writes.enqueue_finish(job.execution_id, changes)
            job.free_slot()
            await written
            ended()
            return
        except (ValueError, TypeError, StoreError):
            pass  # the batch failed: this run alone, to see whether it is the culprit
        try:
            await self._write_final(job, changes, ended)  # retried through an outage
            return
        except RecordNotFoundError:
            ended()
            return  # deleted by an admin meanwhile: nothing to record
        except (ValueError, TypeError, StoreError) as exc:
            # a node left something JSON cannot hold (bytes, a set...): keep it as text
            log.warning("run %s: final state stored as text (%s)", job.execution_id, exc)
        changes["final_state"] = _jsonable(result.final_state)
        changes["timeline"] = _jsonable(changes["timeline"])
        try:
            await self._write_final(job, changes, ended)
        except Exception:
            log.exception("could not record the end of run %s", job.execution_id)
            ended()


async def _settle(services: Any, execution_id: str) -> None:
    """Before a run's end is recorded: what its services still owe (its AI usage rows,
    run_services.py). A failure is logged; the run's end is recorded all the same."""
    settle = getattr(services, "settle", None)
    if settle is None:
        return
    try:
        await settle()
    except Exception:
        log.exception("run %s: its services could not settle", execution_id)


def _run_error(result: RunResult) -> dict[str, Any] | None:
    """The engine's error; a failed ``notebook`` step adds the executed notebook's report
    (its status, failing cell, exception and executed copy's path) as ``report``."""
    if result.error is None:
        return None
    error: dict[str, Any] = result.error.to_dict()
    report = result.final_state.get("notebookResult")
    if result.error.node_type == "notebook" and isinstance(report, dict):
        error["report"] = report
    return error


def _kept_warnings(warnings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The run's warnings as stored: the first ``MAX_WARNINGS`` (a loop can repeat one), then
    one that says how many more there were."""
    kept = [dict(w) for w in warnings[:MAX_WARNINGS]]
    if len(warnings) > MAX_WARNINGS:
        more = len(warnings) - MAX_WARNINGS
        kept.append({"code": "MORE_WARNINGS", "message": f"{more} more warning(s) not kept",
                     "nodePath": "", "nodeType": ""})  # fmt: skip
    return kept


def _cancelled_error() -> dict[str, Any]:
    return run_error("CANCELLED", "the run was cancelled")


def _jsonable(value: Any) -> Any:
    """The last-resort copy of a final state: always storable (odd values as text, NaN as
    null, a part nested too deeply — or containing itself — replaced by a note)."""
    return plain_json(value, default=str, too_deep="(nested too deeply to store)")
