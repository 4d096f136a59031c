"""The run handle a ``%%workflow`` cell returns: awaitable, cancellable, inspectable."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from ..engine import Execution, NodeRegistry, RunResult, Services, Workflow
from ..engine.visible_state import VisibleStateView
from .summary import summary_html

__all__ = ["RunHandle"]


class RunHandle:
    """One run of a workflow in this kernel.

    ``await handle`` gives the RunResult; ``handle.result()`` gives it once the run has ended;
    ``status``, ``state`` and ``timeline`` can be read while it runs; ``cancel()`` stops it.
    """

    def __init__(
        self,
        workflow: Workflow,
        registry: NodeRegistry,
        *,
        initial_state: Mapping[str, Any] | None = None,
        services: Services | None = None,
        on_event: Callable[[Any], None] | None = None,
        on_end: Callable[[RunHandle], None] | None = None,
    ) -> None:
        self.workflow = workflow
        self.execution = Execution(
            workflow,
            registry,
            initial_state=initial_state,
            services=services,
            on_event=on_event,
        )
        self._on_end = on_end
        self._task: asyncio.Task[RunResult] | None = None
        self._result: RunResult | None = None

    # -- running ----------------------------------------------------------------------------

    def start(self) -> RunHandle:
        """Start on the running event loop (a kernel's), or run to the end if there is none."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._run())
            return self
        self._task = loop.create_task(self._run(), name=f"workscript:{self.workflow.id}")
        return self

    async def _run(self) -> RunResult:
        try:
            self._result = await self.execution.run()
        finally:
            if self._on_end is not None:
                self._on_end(self)
        return self._result

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> RunResult:
        if self._result is None:
            if self._task is None:
                raise RuntimeError("this run was never started")
            await asyncio.shield(self._task)
        assert self._result is not None
        if self._on_end is not None:
            # Once more, from the awaiting cell: a display update sent from the run's own
            # (earlier) cell is dropped by headless runners such as nbclient after that cell ends.
            self._on_end(self)
        return self._result

    async def wait_in_cell(self, show: bool) -> RunHandle | None:
        """What a waiting ``%%workflow`` cell awaits: the end of the run; the handle if shown."""
        await self._wait()
        return self if show else None

    def cancel(self) -> bool:
        """Stop the run; it ends with status ``cancelled``. False if it was not running."""
        return self.execution.cancel()

    # -- reading ------------------------------------------------------------------------------

    def done(self) -> bool:
        return self._result is not None

    def result(self) -> RunResult:
        """The RunResult of a finished run (failed runs included: look at ``.status``)."""
        if self._result is None:
            raise RuntimeError(
                f"the run of {self.workflow.id!r} is still {self.status}; "
                "`await` the handle, or call result() once it has ended"
            )
        return self._result

    @property
    def status(self) -> str:
        if self._result is not None:
            return self._result.status
        return "running" if self._task is not None else "pending"

    @property
    def state(self) -> Mapping[str, Any]:
        """The run's state: live while it runs, final afterwards (a read-only view), without
        the engine's bookkeeping keys ``_edgeContext`` and ``_lastStateSet``."""
        return VisibleStateView(self.execution.state)

    @property
    def timeline(self) -> list[dict[str, Any]]:
        source = self._result.timeline if self._result else self.execution.timeline
        return [entry.to_dict() for entry in source]

    def __repr__(self) -> str:
        runs = self._result.node_runs if self._result else self.execution.node_runs
        return f"<RunHandle {self.workflow.id!r} {self.status}, {runs} node runs>"

    def _repr_html_(self) -> str:
        return summary_html(self.workflow, self._result, live_state=self.execution.state)
