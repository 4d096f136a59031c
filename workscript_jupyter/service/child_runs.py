"""Runs started by a run: what the ``runWorkflow`` node reaches through ``ctx.services.workflows``.

``ChildRuns.runner(caller)`` is each run's ``services.workflows`` (run_services.py): a
:class:`WorkflowRunner` bound to the run's caller. The runner starts a
saved workflow of the caller's *own* (its record id or its definition id; another owner's is
"not found" even for an admin) as a run of its own, in-process: no HTTP, no token in a state.

The child's record has ``trigger = "workflow"`` and ``trigger_data`` holding
``parentExecutionId`` and ``depth`` (the parent's depth + 1; a run started any other way has
depth 1). A child deeper than ``MAX_DEPTH`` is refused before any record is written, so a
workflow that calls itself forever stops with a clear error after ``MAX_DEPTH`` runs.

Concurrency: a parent that waits for its child holds a slot of the worker pool. Were the child
queued in the pool like any run, a user at ``max_concurrent_runs_per_user`` would deadlock (the
parents wait for children that wait for the parents' slots). So a waited-for child runs
*inline*, in the parent's task, under the parent's slot: it is still counted by the admission
limit (``max_queued_runs_per_user``) when inserted, but not by the concurrency limits. A child
started with ``wait: false`` goes through the pool like any other run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from ..engine import copy_json
from ..errors import BadRequestError, RecordNotFoundError, UnprocessableError
from ..store.records import ExecutionRecord, WorkflowRecord, new_ordered_id, utcnow
from .common import store_call
from .execute import RunExecutor
from .parsed_workflows import ParsedWorkflows
from .pool import Job, RunPool
from .runs import Runs
from .values import Caller, RunLimits

__all__ = ["MAX_DEPTH", "TRIGGER", "ChildRuns", "WorkflowRunner"]

MAX_DEPTH: Final = 10
TRIGGER: Final = "workflow"
_LIST_PAGE: Final = 200


class ChildRuns:
    """Builds each run's :class:`WorkflowRunner`; ``bind`` once the use cases exist."""

    def __init__(self, limits: RunLimits, server_id: str) -> None:
        self.limits = limits
        self.server_id = server_id
        self.runs: Runs | None = None
        self.executor: RunExecutor | None = None
        self.parsed: ParsedWorkflows | None = None
        self.pool: RunPool | None = None

    def bind(
        self,
        runs: Runs,
        executor: RunExecutor,
        parsed: ParsedWorkflows,
        pool: RunPool | None = None,
    ) -> None:
        self.runs, self.executor, self.parsed, self.pool = runs, executor, parsed, pool

    def runner(self, caller: Caller) -> WorkflowRunner:
        """The caller's ``workflows`` gateway (run_services.py)."""
        return WorkflowRunner(self, caller)


class WorkflowRunner:
    """Child runs of one caller's runs."""

    def __init__(self, children: ChildRuns, caller: Caller) -> None:
        self._children = children
        self.caller = caller

    async def run_workflow(
        self,
        parent_execution_id: str,
        workflow_id: str,
        *,
        initial_state: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float = 300.0,
    ) -> dict[str, Any]:
        """Start the caller's workflow ``workflow_id`` as a child of ``parent_execution_id``.

        Returns ``{executionId, status, finalState, error}`` once the child has ended (``wait``),
        or at once with status ``queued``. A child still running after ``timeout`` seconds is
        cancelled and reported with status ``timed_out``. Raises ``BadRequestError`` (bad
        arguments), ``RecordNotFoundError`` (no such workflow of this owner, or no parent run),
        ``UnprocessableError`` (the depth limit) or what ``start_run`` raises (an invalid
        definition, ``TooManyRunsError``)."""
        children = self._children
        runs, executor, parsed = children.runs, children.executor, children.parsed
        if runs is None or executor is None or parsed is None:
            raise UnprocessableError("child runs are not available: the service is not composed")
        if not isinstance(workflow_id, str) or not workflow_id:
            raise BadRequestError(f"workflowId must be a non-empty string, not {workflow_id!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise BadRequestError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        caller = self.caller
        parent = await runs.get_execution(caller, parent_execution_id)
        depth = _depth(parent) + 1
        if depth > MAX_DEPTH:
            raise UnprocessableError(
                f"runWorkflow: the depth limit of {MAX_DEPTH} nested runs is reached (a workflow "
                "calling workflows, or itself, too deep): the child was not started",
                details={"depth": depth, "maxDepth": MAX_DEPTH},
            )
        saved = await self._own_workflow(runs, workflow_id)
        data: dict[str, Any] = {"parentExecutionId": parent.id, "depth": depth}
        if not wait:
            record = await runs.start_run(
                caller,
                workflow_id=saved.id,
                initial_state=dict(initial_state or {}),
                trigger=TRIGGER,
                trigger_data=data,
            )
            return {"executionId": record.id, "status": record.status, "finalState": None}
        workflow = await parsed.parse(saved.definition, (saved.id, saved.updated_at, None))
        state = copy_json(dict(workflow.initial_state))
        state.update(copy_json(dict(initial_state or {})))
        data["definition"] = saved.definition
        record = ExecutionRecord(
            id=new_ordered_id(),
            owner_id=caller.user.id,
            status="queued",
            trigger=TRIGGER,
            workflow_id=saved.id,
            initial_state=state,
            trigger_data=data,
            claimed_by=children.server_id,  # run here, inline: never claimed by a worker
            created_at=utcnow(),
        )
        await executor.writes.insert(
            record, admission_limit=children.limits.max_queued_runs_per_user
        )
        own = dataclasses.replace(record, initial_state=copy_json(state))
        job = Job(record.id, caller, saved.id, record=own)
        job.workflow = workflow
        task = asyncio.get_running_loop().create_task(
            executor.execute(job), name=f"workscript-child-{record.id}"
        )
        pool = children.pool
        if pool is not None:  # REST cancel and the live timeline reach the child too
            pool.adopt_inline(job)
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            timed_out = True
            await _stop(job, task)
        except asyncio.CancelledError:  # the parent was cancelled: so is its child
            await _stop(job, task)
            raise
        finally:
            if pool is not None:
                pool.release_inline(job)
        ended = await runs.get_execution(caller, record.id)
        result: dict[str, Any] = {
            "executionId": ended.id,
            "status": ended.status,
            "finalState": ended.final_state,
            "error": ended.error,
        }
        if timed_out:
            result["status"] = "timed_out"
            result["error"] = {
                "code": "TIMEOUT",
                "message": f"the child run did not end within {timeout:g} s and was cancelled",
            }
        return result

    async def _own_workflow(self, runs: Runs, workflow_id: str) -> WorkflowRecord:
        """The caller's own saved workflow by record id, else by definition id."""
        caller = self.caller
        store = runs.store
        with contextlib.suppress(RecordNotFoundError):
            saved: WorkflowRecord = await store_call(store.workflows.get, caller.scope, workflow_id)
            if saved.owner_id == caller.user.id:
                return saved
        cursor: str | None = None
        while True:
            page = await store_call(
                store.workflows.list, caller.scope, limit=_LIST_PAGE, cursor=cursor
            )
            for item in page.items:
                if item.owner_id == caller.user.id and item.definition_id == workflow_id:
                    found: WorkflowRecord = item
                    return found
            cursor = page.next_cursor
            if not cursor:
                break
        raise RecordNotFoundError("workflow of yours", workflow_id)


def _depth(record: ExecutionRecord) -> int:
    depth = record.trigger_data.get("depth")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        return 1
    return depth


async def _stop(job: Job, task: asyncio.Task[None]) -> None:
    """Cancel the inline child and wait until its record is final."""
    job.request_cancel()
    if task.done():
        return
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(task)
