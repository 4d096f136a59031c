"""The walk over a workflow's steps (WORKFLOW-LANGUAGE.md §4): what runs after what.

A node run answers the name of the edge it took (``run_node``, executor.py); the walk follows it:
to the steps nested under that edge, to another top-level step (a ``Jump``), or on to the next
step. A loop step (``range...``) runs again after its nested steps until it takes an edge that
leads nowhere. Both kinds of loop are bounded by the workflow's ``maxLoopIterations``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import LoopLimitError
from .model import Jump, NodeStep
from .result import RunError, RunFailure

__all__ = ["StepWalk"]

RunNode = Callable[[NodeStep], Awaitable[str | None]]


class StepWalk:
    """Walks the steps of one run, calling ``run_node`` for each node run. ``memory`` is the
    run's node memory (``ctx.memory``): a loop's is dropped when the loop ends, so that entering
    it again restarts its iterators."""

    __slots__ = ("_limit", "_memory", "_run_node")

    def __init__(self, run_node: RunNode, memory: dict[str, dict[str, Any]], limit: int) -> None:
        self._run_node = run_node
        self._memory = memory
        self._limit = limit

    async def walk(self, steps: tuple[NodeStep, ...]) -> None:
        arrivals: dict[int, int] = {}
        index, count = 0, len(steps)
        while index < count:
            jump = await self.step(steps[index])
            if jump is None:
                index += 1
                continue
            seen = arrivals.get(jump.index, 0) + 1
            if seen > self._limit:  # a backward jump is a loop too, and must end
                raise self._loop_failure(steps[jump.index])
            arrivals[jump.index] = seen
            index = jump.index

    async def step(self, step: NodeStep) -> Jump | None:
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
            await self._steps(target)
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
            await self._steps(target)

    async def _steps(self, steps: tuple[NodeStep, ...]) -> None:
        """The steps an edge leads to, in order. A plain step is run here rather than through
        ``step``: a coroutine less for each node run of a loop's body. (Only a top-level step's
        edge can be a jump, parse.py.)"""
        run_node = self._run_node
        for inner in steps:
            if inner.loop:
                await self.step(inner)
                continue
            edge = await run_node(inner)
            if edge is not None:
                target = inner.edges.get(edge)
                if target is not None and not isinstance(target, Jump):
                    await self._steps(target)

    def _forget(self, path: str) -> None:
        memory = self._memory
        if memory:
            below = path + "/"
            for key in [k for k in memory if k == path or k.startswith(below)]:
                del memory[key]

    def _loop_failure(self, step: NodeStep) -> RunFailure:
        exc = LoopLimitError(step.path, self._limit)
        return RunFailure(RunError(exc.message, exc.code, step.path, step.type))
