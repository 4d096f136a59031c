"""Running a parsed workflow (WORKFLOW-LANGUAGE.md §4-5): one ``Execution`` per run.

This module holds a run's life (start, the end in each of its ways, the result, the workflow
events) and one node run (``_run_node``: its context, events and timeline entry). What runs
after what is ``walk.py``; calling a node, with its retries, timeout and errors, ``node_call.py``.

``_run_node`` is the hot path: it is entered once per node run (4,000 times for a 1,000-step
loop), so it builds nothing it does not need: no event without a listener, no inputs dict unless
the node reads it, no copy of the state. The state is copied once, at the start of the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..errors import StateTooLargeError, ValueTooDeepError
from .events import Event, Listener
from .limits import DEFAULT_LIMITS, EngineLimits
from .model import NodeStep, Workflow
from .node import Edge, NodeContext, RunEnded
from .node_call import NodeCaller, StepContext, as_edge, state_error
from .registry import NodeRegistry
from .result import RunError, RunFailure, RunResult, RunStatus, TimelineEntry
from .state import copy_json
from .state_size import RunState, StateBudget
from .walk import StepWalk

__all__ = ["Execution", "copy_json", "run_workflow"]

_log = logging.getLogger("workscript.run")
_perf = time.perf_counter
_set_item = dict.__setitem__
_EDGE_KEY: Final = "_edgeContext"
YIELD_EVERY_SECONDS = 0.005

# A node run as the timeline keeps it until it is read: (step, edge, started, ended, error), the
# times on the perf_counter clock. A TimelineEntry costs more to build than most node runs.
_Run = tuple[NodeStep, str | None, float, float, str | None]


class Execution:
    """One run of a workflow. ``await run()`` once; ``cancel()`` from anywhere on the loop."""

    def __init__(
        self,
        workflow: Workflow,
        registry: NodeRegistry,
        *,
        initial_state: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
        on_event: Listener | None = None,
        services: Any = None,
        timeline_limit: int = 10_000,
        copy_initial_state: bool = True,
        on_log: Callable[[str], None] | None = None,
        limits: EngineLimits = DEFAULT_LIMITS,
    ) -> None:
        self.workflow = workflow
        self.limits = limits
        self.registry = registry
        self.execution_id = execution_id or f"exec_{uuid.uuid4().hex}"
        self.services = services
        # The workflow's initialState is shared by every run, so it is always copied. The caller's
        # is copied too unless the caller hands it over (the CLI and server parse a fresh one per
        # run): for 10,000 rows the copy costs more than filtering them.
        # The state's size is checked as nodes write it (state_size.py); the initial state is
        # bounded by the request that brought it and is not measured (its long lists' rows are
        # estimated when nodes put them in lists of their own).
        given = initial_state or {}
        state = RunState(copy_json(dict(workflow.initial_state)), max_text=limits.max_state_bytes)
        dict.update(state, copy_json(dict(given)) if copy_initial_state else given)
        self.state: RunState = state
        self._budget = StateBudget(limits.max_state_bytes, initial=state)
        self._caller = NodeCaller(workflow, registry, self._budget)
        self.node_runs = 0
        self.current_path = ""
        self.warnings: list[dict[str, str]] = self._caller.warnings
        self.logs: deque[str] = deque(maxlen=max(timeline_limit, 1))
        self._on_log = self.logs.append if on_log is None else self._log_both(on_log)
        self._emit = on_event
        self._timeline: deque[_Run] = deque(maxlen=max(timeline_limit, 0))
        self._wall_minus_perf = time.time() - _perf()  # a perf_counter time + this: epoch seconds
        self._memory: dict[str, dict[str, Any]] = {}
        self._contexts: dict[NodeStep, StepContext] = {}
        # what the contexts of the run's steps share (node_call.StepContext copies it)
        self._run_context = NodeContext(
            state,
            node_id="",
            node_type="",
            node_path="",
            workflow_id=workflow.id,
            execution_id=self.execution_id,
            memory_store=self._memory,
            services=services,
            on_log=self._on_log,
            on_event=on_event,
        )
        self._edge_data: Mapping[str, Any] | None = None
        self._walk = StepWalk(self._run_node, self._memory, workflow.max_loop_iterations)
        self._cancel_requested = False
        self._task: asyncio.Task[Any] | None = None
        self._started = False
        self._finished = False
        self._last_yield = _perf()

    def _log_both(self, listener: Callable[[str], None]) -> Callable[[str], None]:
        def log(message: str) -> None:
            self.logs.append(message)
            listener(message)

        return log

    @property
    def timeline(self) -> tuple[TimelineEntry, ...]:
        """The node runs so far (the last ``timeline_limit`` of them)."""
        offset = self._wall_minus_perf
        return tuple(
            TimelineEntry(
                step.path, step.type, edge, started + offset, (ended - started) * 1000, error
            )
            for step, edge, started, ended, error in self._timeline
        )

    # -- public -------------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Ask the run to stop; it ends with status ``cancelled``. False once it has ended.

        A run asked to stop before it started ends ``cancelled`` as soon as it starts.
        """
        if self._cancel_requested or self._finished:
            return False
        self._cancel_requested = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        return True

    async def _close_notebooks(self, notebooks: Any) -> None:
        """Shut the run's kernel down (``python`` nodes); a failure is logged, never raised."""
        try:
            await notebooks.close_run(self.execution_id)
        except Exception:  # noqa: BLE001 - a kernel that will not stop never fails the run
            _log.exception("closing the kernels of run %s failed", self.execution_id)

    async def run(self) -> RunResult:
        if self._started:
            raise RuntimeError("an Execution runs once; create a new one")
        self._started = True
        self._task = asyncio.current_task()
        wall_start, perf_start = time.time(), _perf()
        self._wall_minus_perf = wall_start - perf_start
        self._event("workflow:started", {"workflowName": self.workflow.name})
        status: RunStatus = "completed"
        error: RunError | None = None
        try:
            async with asyncio.timeout(self.workflow.timeout_seconds):
                await self._walk.walk(self.workflow.steps)
        except RunEnded as ended:
            if ended.status != "completed":
                status = "failed"
                error = RunError(
                    ended.message or "the workflow ended with status failed",
                    "WORKFLOW_ENDED",
                    self.current_path,
                    "end",
                )
        except RunFailure as failure:
            status, error = "failed", failure.error
        except TimeoutError:
            status = "timed_out"
            limit = self.workflow.timeout_seconds
            error = RunError(
                f"the workflow ran longer than its timeoutSeconds ({limit} s)",
                "WORKFLOW_TIMEOUT",
                self.current_path,
            )
        except asyncio.CancelledError:
            if not self._cancel_requested:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            status = "cancelled"
            error = RunError("the run was cancelled", "CANCELLED", self.current_path)
        finally:
            notebooks = getattr(self.services, "notebooks", None)
            if notebooks is not None:
                await self._close_notebooks(notebooks)
        last = self.state.writer
        if self.state.written and last is not None:  # what the last nodes wrote
            try:
                self._budget.settle(self.state, last)
            except (StateTooLargeError, ValueTooDeepError) as exc:
                if status == "completed" or error is None:
                    status, error = "failed", state_error(last, exc)
        self._finished = True
        wall_end = wall_start + (_perf() - perf_start)
        result = RunResult(
            execution_id=self.execution_id,
            workflow_id=self.workflow.id,
            status=status,
            final_state=dict(self.state),
            started_at=wall_start,
            ended_at=wall_end,
            node_runs=self.node_runs,
            error=error,
            warnings=tuple(self.warnings),
            timeline=self.timeline,
            timeline_dropped=max(0, self.node_runs - len(self._timeline)),
            logs=tuple(self.logs),
        )
        if self._emit is not None:
            payload: dict[str, Any] = {"status": status, "durationMs": result.duration_ms}
            if error is not None:
                payload["error"] = error.to_dict()
            self._event(
                "workflow:completed"
                if status == "completed"
                else "workflow:cancelled"
                if status == "cancelled"
                else "workflow:failed",
                payload,
            )
        return result

    # -- one node -----------------------------------------------------------------------------

    async def _run_node(self, step: NodeStep) -> str | None:
        """Run one node and record it; answer the name of the edge it took (None: no edge).

        The hot path: entered once per node run, it builds nothing it does not need (no event
        without a listener, no timeline entry until the timeline is read, no context after the
        step's first run)."""
        if self._cancel_requested:
            raise asyncio.CancelledError
        started = _perf()
        if started - self._last_yield >= YIELD_EVERY_SECONDS:
            # Nodes that compute without awaiting never give the loop a turn; a server (or a
            # kernel) must keep answering, and its WebSocket flushing, during a long run.
            # At the same pace, what the nodes wrote meanwhile is counted (state_size.py).
            if self.state.written:
                self._settle()
            await asyncio.sleep(0)
            started = self._last_yield = _perf()
        self.node_runs += 1
        self.current_path = step.path
        state = self.state
        state.writer = step
        edge_data, self._edge_data = self._edge_data, None
        ctx = self._contexts.get(step)
        if ctx is None:
            ctx = self._contexts[step] = StepContext(self._run_context, step, edge_data)
        else:
            ctx.rerun(edge_data)
        emit = self._emit
        if emit is not None:
            emit(
                Event(
                    "node:started",
                    self.execution_id,
                    self.workflow.id,
                    {"nodePath": step.path, "nodeType": step.type},
                )
            )
        caller = self._caller
        try:
            if step.retry is None and step.timeout is None:
                # NodeCaller.call, inlined: one coroutine less for each node run
                caller.params = None
                caller.params = params = step.resolved_params(state)
                if step.setter is None:
                    node = caller.nodes.get(step.type)
                    if node is None:
                        node = caller.node(step.type)
                    result = await node.execute(ctx, params)
                    edge = result if result.__class__ is Edge else as_edge(step, result)
                else:
                    edge = caller.set(step, ctx, params)
            else:
                edge = await caller.attempts(step, ctx)
        except RunEnded as ended:
            failed = ended.status != "completed"
            self._record(step, started, None, (ended.message or "ended") if failed else None)
            raise
        except asyncio.CancelledError:
            self._record(step, started, None, "cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - a node failure is routed to error? or fails the run
            try:
                edge = caller.caught(step, exc)
            except RunFailure as failure:
                self._record(step, started, None, failure.error.message)
                raise
            self._take(step, edge)
            self._record(step, started, "error", str(edge.data["error"]) if edge.data else None)
            return "error"
        if edge is None:
            self._record(step, started, None, None)
            return None
        data = edge.data
        if data is not None:  # _take, inlined
            self._edge_data = data
            _set_item(state, _EDGE_KEY, data)
            state.written[_EDGE_KEY] = step
        name = edge.name
        if name == "error" and "error" not in step.edges:
            try:
                error_text = caller.unhandled(step, edge)
            except RunFailure as failure:
                self._record(step, started, "error", failure.error.message)
                raise
            self._record(step, started, name, error_text)
        elif emit is None:  # _record, inlined
            self._timeline.append((step, name, started, _perf(), None))
        else:
            self._record(step, started, name, None)
        return name

    def _take(self, step: NodeStep, edge: Edge) -> None:
        """The edge's data goes to the next node that runs, and into ``_edgeContext``."""
        data = edge.data
        if data is not None:
            self._edge_data = data
            # a bookkeeping key: written past RunState's note of the user's writes, and noted
            # by hand, so that the output is measured (state_size.py) at the next settle
            state = self.state
            _set_item(state, _EDGE_KEY, data)
            state.written[_EDGE_KEY] = step

    def _record(self, step: NodeStep, started: float, edge: str | None, error: str | None) -> None:
        """The node run's timeline entry and its completed/failed event."""
        ended = _perf()
        self._timeline.append((step, edge, started, ended, error))
        if self._emit is not None:
            payload = {
                "nodePath": step.path,
                "nodeType": step.type,
                "edge": edge,
                "durationMs": (ended - started) * 1000,
            }
            if error is not None:
                payload["error"] = error
            kind = "node:failed" if error is not None else "node:completed"
            self._emit(Event(kind, self.execution_id, self.workflow.id, payload))

    def _settle(self) -> None:
        """Count what the nodes wrote into the state; past the limit the run fails."""
        last = self.state.writer
        assert last is not None  # something was written, so a node ran
        try:
            self._budget.settle(self.state, last)
        except (StateTooLargeError, ValueTooDeepError) as exc:
            raise RunFailure(state_error(last, exc)) from None

    def _event(self, kind: str, payload: dict[str, Any]) -> None:
        if self._emit is not None:
            self._emit(Event(kind, self.execution_id, self.workflow.id, payload))


async def run_workflow(
    workflow: Workflow,
    registry: NodeRegistry,
    initial_state: Mapping[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Run ``workflow`` to its end and return the result (it never raises for a failed run)."""
    return await Execution(workflow, registry, initial_state=initial_state, **options).run()
