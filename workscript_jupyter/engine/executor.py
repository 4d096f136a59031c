"""Running a parsed workflow (WORKFLOW-LANGUAGE.md §4-5).

The hot path is ``_run_node``: it is entered once per node run (4,000 times for a 1,000-step loop),
so it builds nothing it does not need: no event without a listener, no inputs dict unless the node
reads it, no copy of the state. The state is copied once, at the start of the run.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import (
    LoopLimitError,
    NodeExecutionError,
    NodeTimeoutError,
    StateTooLargeError,
    ValueTooDeepError,
    WorkscriptError,
)
from .events import Event, Listener
from .limits import DEFAULT_LIMITS, EngineLimits
from .model import Jump, NodeStep, Workflow
from .node import Edge, NodeContext, RunEnded, parameter_error
from .registry import NodeRegistry
from .result import RunError, RunResult, RunStatus, TimelineEntry
from .setter import StateSetter
from .state import copy_json
from .state_size import RunState, StateBudget, describe

__all__ = ["Execution", "copy_json", "run_workflow"]

_log = logging.getLogger("workscript.run")
_perf = time.perf_counter
YIELD_EVERY_SECONDS = 0.005


class _Failure(Exception):
    """Internal: the run fails with this error (raised out of the walk)."""

    def __init__(self, error: RunError) -> None:
        super().__init__(error.message)
        self.error = error


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
        # bounded by the request that brought it and is not measured.
        given = initial_state or {}
        state = RunState(copy_json(dict(workflow.initial_state)), max_text=limits.max_state_bytes)
        dict.update(state, copy_json(dict(given)) if copy_initial_state else given)
        self.state: RunState = state
        self._budget = StateBudget(limits.max_state_bytes)
        self.node_runs = 0
        self.current_path = ""
        self.warnings: list[dict[str, str]] = []
        self.logs: deque[str] = deque(maxlen=max(timeline_limit, 1))
        self._on_log = self.logs.append if on_log is None else self._log_both(on_log)
        self._emit = on_event
        self._timeline: deque[TimelineEntry] = deque(maxlen=max(timeline_limit, 0))
        self._timeline_on = timeline_limit > 0
        self._memory: dict[str, dict[str, Any]] = {}
        self._edge_data: Mapping[str, Any] | None = None
        self._limit = workflow.max_loop_iterations
        self._cancel_requested = False
        self._task: asyncio.Task[Any] | None = None
        self._started = False
        self._finished = False
        self._last_yield = _perf()
        self._setter = StateSetter()
        self._params: dict[str, Any] | None = None  # the running node's, for error messages

    def _log_both(self, listener: Callable[[str], None]) -> Callable[[str], None]:
        def log(message: str) -> None:
            self.logs.append(message)
            listener(message)

        return log

    @property
    def timeline(self) -> tuple[TimelineEntry, ...]:
        """The node runs so far (the last ``timeline_limit`` of them)."""
        return tuple(self._timeline)

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
        self._event("workflow:started", {"workflowName": self.workflow.name})
        status: RunStatus = "completed"
        error: RunError | None = None
        try:
            async with asyncio.timeout(self.workflow.timeout_seconds):
                await self._walk()
        except RunEnded as ended:
            if ended.status != "completed":
                status = "failed"
                error = RunError(
                    ended.message or "the workflow ended with status failed",
                    "WORKFLOW_ENDED",
                    self.current_path,
                    "end",
                )
        except _Failure as failure:
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
                    status, error = "failed", self._state_error(last, exc)
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
            timeline=tuple(self._timeline),
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

    # -- the walk -----------------------------------------------------------------------------

    async def _walk(self) -> None:
        steps = self.workflow.steps
        arrivals: dict[int, int] = {}
        index, count = 0, len(steps)
        while index < count:
            jump = await self._run_step(steps[index])
            if jump is None:
                index += 1
                continue
            seen = arrivals.get(jump.index, 0) + 1
            if seen > self._limit:  # a backward jump is a loop too, and must end
                raise self._loop_failure(steps[jump.index])
            arrivals[jump.index] = seen
            index = jump.index

    async def _run_step(self, step: NodeStep) -> Jump | None:
        """Run one step and the target of the edge it takes; a loop step until it exits."""
        if not step.loop:
            edge = await self._run_node(step)
            if edge is None:
                return None
            target = step.edges.get(edge)
            if target is None:
                return None
            if isinstance(target, Jump):
                return target
            for inner in target:
                await self._run_step(inner)
            return None
        visits = 0
        while True:
            visits += 1
            if visits > self._limit:
                raise self._loop_failure(step)
            edge = await self._run_node(step)
            target = step.edges.get(edge) if edge is not None else None
            if target is None:
                self._forget(step.path)  # re-entering the loop restarts its iterators
                return None
            if isinstance(target, Jump):
                return target
            for inner in target:
                await self._run_step(inner)

    def _forget(self, path: str) -> None:
        memory = self._memory
        if memory:
            below = path + "/"
            for key in [k for k in memory if k == path or k.startswith(below)]:
                del memory[key]

    def _loop_failure(self, step: NodeStep) -> _Failure:
        exc = LoopLimitError(step.path, self._limit)
        return _Failure(RunError(exc.message, exc.code, step.path, step.type))

    # -- one node -----------------------------------------------------------------------------

    async def _run_node(self, step: NodeStep) -> str | None:
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
        self.state.writer = step
        edge_data, self._edge_data = self._edge_data, None
        ctx = NodeContext(
            self.state,
            node_id=step.key,
            node_type=step.type,
            node_path=step.path,
            workflow_id=self.workflow.id,
            execution_id=self.execution_id,
            edge_data=edge_data,
            memory_store=self._memory,
            services=self.services,
            on_log=self._on_log,
            on_event=self._emit,
        )
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
        try:
            edge = await self._attempts(step, ctx)
        except RunEnded as ended:
            failed = ended.status != "completed"
            self._record(step, started, None, (ended.message or "ended") if failed else None)
            raise
        except asyncio.CancelledError:
            self._record(step, started, None, "cancelled")
            raise
        except Exception as exc:  # noqa: BLE001 - a node failure is routed to error? or fails the run
            try:
                edge = self._caught(step, exc)
            except _Failure as failure:
                self._record(step, started, None, failure.error.message)
                raise
            self._take(edge)
            self._record(step, started, "error", str(edge.data["error"]) if edge.data else None)
            return "error"
        if edge is None:
            self._record(step, started, None, None)
            return None
        self._take(edge)
        error_text = None
        if edge.name == "error" and "error" not in step.edges:
            try:
                error_text = self._unhandled(step, edge)
            except _Failure as failure:
                self._record(step, started, "error", failure.error.message)
                raise
        self._record(step, started, edge.name, error_text)
        return edge.name

    def _settle(self) -> None:
        """Count what the nodes wrote into the state; past the limit the run fails."""
        last = self.state.writer
        assert last is not None  # something was written, so a node ran
        try:
            self._budget.settle(self.state, last)
        except (StateTooLargeError, ValueTooDeepError) as exc:
            raise _Failure(self._state_error(last, exc)) from None

    @staticmethod
    def _state_error(step: NodeStep, exc: WorkscriptError) -> RunError:
        message = exc.message
        if step.path not in message:  # a template's or a node's own: say which node
            message = f"{describe(step)}: {message}"
        return RunError(message, exc.code, step.path, step.type)

    def _take(self, edge: Edge) -> None:
        """The edge's data goes to the next node that runs, and into ``_edgeContext``."""
        if edge.data is not None:
            self._edge_data = edge.data
            self.state["_edgeContext"] = edge.data

    def _record(self, step: NodeStep, started: float, edge: str | None, error: str | None) -> None:
        """The node run's timeline entry and its completed/failed event."""
        elapsed = _perf() - started
        if self._timeline_on:
            self._timeline.append(
                TimelineEntry(
                    step.path, step.type, edge, time.time() - elapsed, elapsed * 1000, error
                )
            )
        if self._emit is not None:
            payload = {
                "nodePath": step.path,
                "nodeType": step.type,
                "edge": edge,
                "durationMs": elapsed * 1000,
            }
            if error is not None:
                payload["error"] = error
            kind = "node:failed" if error is not None else "node:completed"
            self._emit(Event(kind, self.execution_id, self.workflow.id, payload))

    async def _attempts(self, step: NodeStep, ctx: NodeContext) -> Edge | None:
        policy = step.retry
        attempt = 1
        while True:
            try:
                edge = await self._call(step, ctx)
                if policy is None or edge is None or edge.name != "error":
                    return edge
                if attempt >= policy.max_attempts:
                    return edge
            except (RunEnded, asyncio.CancelledError, StateTooLargeError):
                raise
            except Exception:
                if policy is None or attempt >= policy.max_attempts:
                    raise
            attempt += 1
            assert policy is not None
            await asyncio.sleep(policy.delay_before(attempt))

    async def _call(self, step: NodeStep, ctx: NodeContext) -> Edge | None:
        self._params = None
        self._params = params = step.resolved_params(self.state)
        if step.setter is not None:
            value = params.get("value")
            if type(value) is list or type(value) is dict:  # refused before it is copied
                self._budget.check_write(step.setter[0], value, step)  # type: ignore[arg-type]
            return self._setter.apply(ctx, step.setter, params)
        node = self.registry.get(step.type)
        if step.timeout is None:
            result = await node.execute(ctx, params)
        else:
            try:
                result = await asyncio.wait_for(node.execute(ctx, params), step.timeout)
            except TimeoutError:
                raise NodeTimeoutError(
                    f"node ran longer than its _timeoutSeconds ({step.timeout:g} s)",
                    node_path=step.path,
                    node_type=step.type,
                ) from None
        if result is None or isinstance(result, Edge):
            return result
        if isinstance(result, str):
            return Edge(result)
        raise NodeExecutionError(
            f"node {step.type!r} returned {type(result).__name__}; expected an Edge or None",
            node_path=step.path,
            node_type=step.type,
        )

    def _caught(self, step: NodeStep, exc: Exception) -> Edge:
        """A node raised: its ``error?`` edge takes it, or the run fails with the state kept.

        A state over its size limit always fails the run. Python's own errors escaping a node
        (``'int' object is not subscriptable``) are reworded to name the node and, when one of
        its parameters is not of its declared type, that parameter (``parameter_error``)."""
        if isinstance(exc, (StateTooLargeError, ValueTooDeepError)):
            raise _Failure(self._state_error(step, exc)) from exc
        if isinstance(exc, (TypeError, AttributeError, KeyError, IndexError, ValueError)) and (
            not isinstance(exc, WorkscriptError)
        ):
            exc = self._reworded(step, exc)
        message = str(exc) or type(exc).__name__
        if "error" in step.edges:
            return Edge("error", {"error": message, "type": type(exc).__name__})
        code = exc.code if isinstance(exc, WorkscriptError) else "NODE_EXECUTION_ERROR"
        raise _Failure(RunError(message, code, step.path, step.type)) from exc

    def _reworded(self, step: NodeStep, exc: Exception) -> Exception:
        node = self.registry.get(step.type) if step.setter is None else self._setter
        params = self._params if self._params is not None else {}
        return parameter_error(node.metadata, params, exc, node_path=step.path) or exc

    def _unhandled(self, step: NodeStep, edge: Edge) -> str:
        """A node took ``error`` and nothing handles it: a warning, or a failure if so set."""
        data = edge.data or {}
        message = str(data.get("error") or data.get("message") or "the node took its error edge")
        if self.workflow.on_unhandled_error == "fail":
            raise _Failure(RunError(message, "UNHANDLED_ERROR_EDGE", step.path, step.type))
        self.warnings.append(
            {
                "nodePath": step.path,
                "nodeType": step.type,
                "message": message,
                "code": "UNHANDLED_ERROR_EDGE",
            }
        )
        return message

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
