"""Calling one node for a run: its parameters, the state setter, a node's timeout and retries,
what it returned, and what an exception escaping it means (its ``error`` edge, or the run's end).

The executor (executor.py) decides when a node runs and records it; this module is the call
itself. A step with neither ``_retry`` nor ``_timeoutSeconds`` (nearly all) is called by the
executor's own copy of ``NodeCaller.call``, inlined there; ``attempts`` is the path of the
others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..errors import (
    NodeExecutionError,
    NodeTimeoutError,
    StateTooLargeError,
    ValueTooDeepError,
    WorkscriptError,
)
from .model import NodeStep, Workflow
from .node import Edge, FallbackEdge, Node, NodeContext, RunEnded, parameter_error
from .registry import NodeRegistry
from .result import RunError, RunFailure
from .setter import StateSetter
from .state_size import StateBudget, describe

__all__ = ["NodeCaller", "StepContext", "as_edge", "state_error"]


class StepContext(NodeContext):
    """The context of one step in one run: built the first time the step runs, then reused.

    Building a NodeContext costs more than running most nodes, and a step never runs twice at
    once (the walk is sequential), so each later run of the step only resets what differs from
    the last one: the data of the edge that led here, and the ``inputs`` built from it.
    """

    __slots__ = ()

    def __init__(
        self, run: NodeContext, step: NodeStep, edge_data: Mapping[str, Any] | None
    ) -> None:
        """The context of ``step``: what every node of the run shares is copied from ``run``
        (a NodeContext built once per run), slot by slot, which costs half of NodeContext's
        keyword call. Every slot of NodeContext is set here (tests/engine/test_h2_engine.py
        checks that none is missed)."""
        self.state = run.state
        self.node_id = step.key
        self.node_type = step.type
        self.node_path = step.path
        self.workflow_id = run.workflow_id
        self.execution_id = run.execution_id
        self.services = run.services
        self.on_log = run.on_log
        self.on_event = run.on_event
        self._edge_data = edge_data
        self._inputs = None
        self._memory_store = run._memory_store

    def rerun(self, edge_data: Mapping[str, Any] | None) -> None:
        self._edge_data = edge_data
        self._inputs = None


def state_error(step: NodeStep, exc: WorkscriptError) -> RunError:
    """The run's error for a state over its limit, naming the node unless the message does."""
    message = exc.message
    if step.path not in message:  # a template's or a node's own: say which node
        message = f"{describe(step)}: {message}"
    return RunError(message, exc.code, step.path, step.type)


def as_edge(step: NodeStep, result: Any) -> Edge | None:
    """What a node returned, as the edge it took: an Edge, None, or an edge's name."""
    if result is None:
        return None
    if isinstance(result, Edge):
        if isinstance(result, FallbackEdge) and result.name not in step.edges:
            return Edge("error", result.data)
        return result
    if isinstance(result, str):
        return Edge(result)
    raise NodeExecutionError(
        f"node {step.type!r} returned {type(result).__name__}; expected an Edge or None",
        node_path=step.path,
        node_type=step.type,
    )


class NodeCaller:
    """Calls the nodes of one run. ``params`` holds the running node's resolved parameters (for
    the message of a Python error escaping it); ``warnings`` collects unhandled error edges."""

    __slots__ = ("_budget", "_registry", "_setter", "nodes", "params", "warnings", "workflow")

    def __init__(self, workflow: Workflow, registry: NodeRegistry, budget: StateBudget) -> None:
        self.workflow = workflow
        self._registry = registry
        self._budget = budget
        self._setter = StateSetter()
        self.nodes: dict[str, Node] = {}  # the run's nodes by type, each looked up once
        self.params: dict[str, Any] | None = None
        self.warnings: list[dict[str, str]] = []

    def node(self, node_type: str) -> Node:
        node = self.nodes.get(node_type)
        if node is None:
            node = self.nodes[node_type] = self._registry.get(node_type)
        return node

    async def call(self, step: NodeStep, ctx: NodeContext) -> Edge | None:
        """One attempt, without a timeout."""
        self.params = None
        self.params = params = step.resolved_params(ctx.state)
        if step.setter is not None:
            return self.set(step, ctx, params)
        result = await self.node(step.type).execute(ctx, params)
        return result if result.__class__ is Edge else as_edge(step, result)

    def set(self, step: NodeStep, ctx: NodeContext, params: dict[str, Any]) -> Edge:
        """A state setter's write: a list or an object that cannot fit is refused first."""
        path = step.setter
        assert path is not None
        value = params.get("value")
        if type(value) is list or type(value) is dict:  # refused before it is copied
            self._budget.check_write(path[0], value, step)  # type: ignore[arg-type]
        return self._setter.apply(ctx, path, params)

    async def attempts(self, step: NodeStep, ctx: NodeContext) -> Edge | None:
        """The call of a step with ``_retry`` or ``_timeoutSeconds``."""
        policy = step.retry
        attempt = 1
        while True:
            try:
                edge = await self._timed(step, ctx)
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
            await asyncio.sleep(policy.delay_before(attempt))

    async def _timed(self, step: NodeStep, ctx: NodeContext) -> Edge | None:
        if step.timeout is None or step.setter is not None:
            return await self.call(step, ctx)
        try:
            return await asyncio.wait_for(self.call(step, ctx), step.timeout)
        except TimeoutError:
            raise NodeTimeoutError(
                f"node ran longer than its _timeoutSeconds ({step.timeout:g} s)",
                node_path=step.path,
                node_type=step.type,
            ) from None

    def caught(self, step: NodeStep, exc: Exception) -> Edge:
        """A node raised: its ``error?`` edge takes it, or RunFailure (the state is kept).

        A state over its size limit always fails the run. Python's own errors escaping a node
        (``'int' object is not subscriptable``) are reworded to name the node and, when one of
        its parameters is not of its declared type, that parameter (``parameter_error``)."""
        if isinstance(exc, (StateTooLargeError, ValueTooDeepError)):
            raise RunFailure(state_error(step, exc)) from exc
        if isinstance(exc, (TypeError, AttributeError, KeyError, IndexError, ValueError)) and (
            not isinstance(exc, WorkscriptError)
        ):
            exc = self._reworded(step, exc)
        message = str(exc) or type(exc).__name__
        if "error" in step.edges:
            return Edge("error", {"error": message, "type": type(exc).__name__})
        code = exc.code if isinstance(exc, WorkscriptError) else "NODE_EXECUTION_ERROR"
        raise RunFailure(RunError(message, code, step.path, step.type)) from exc

    def _reworded(self, step: NodeStep, exc: Exception) -> Exception:
        node = self._registry.get(step.type) if step.setter is None else self._setter
        params = self.params if self.params is not None else {}
        return parameter_error(node.metadata, params, exc, node_path=step.path) or exc

    def unhandled(self, step: NodeStep, edge: Edge) -> str:
        """A node took ``error`` and nothing handles it: a warning, or RunFailure if so set."""
        data = edge.data or {}
        message = str(data.get("error") or data.get("message") or "the node took its error edge")
        if self.workflow.on_unhandled_error == "fail":
            raise RunFailure(RunError(message, "UNHANDLED_ERROR_EDGE", step.path, step.type))
        self.warnings.append(
            {
                "nodePath": step.path,
                "nodeType": step.type,
                "message": message,
                "code": "UNHANDLED_ERROR_EDGE",
            }
        )
        return message
