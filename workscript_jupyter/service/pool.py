"""The in-process worker pool: queued runs, at most N at once, at most M per user.

Runs wait in one FIFO of execution ids. Whenever a slot frees (a run ends) or a run arrives, the
pool starts, in arrival order, every waiting run that fits both limits: a run over its owner's
limit stays queued while later runs of other users go ahead. Each started run is one task; what
it does is ``execute(job)`` (``RunExecutor.execute``), and ``drop(job, reason)`` records a run
that never started (cancelled while queued, or the server stopping).

Everything here happens on the event loop thread, so the counters need no lock.

A run enters a pool once: callers claim it in the store first (``claimed_by``), and a second
``submit`` of an id the pool already holds is refused (False) rather than queued twice; the
queue never holds an id without its job, and ``stop()`` returns even if a task will not end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..engine import Execution, Workflow
from ..store.records import ExecutionRecord
from .values import Caller, RunLimits

__all__ = ["DropReason", "Job", "RunPool"]

log = logging.getLogger(__name__)

DropReason = Literal["cancelled", "stopped"]


@dataclass(eq=False)
class Job:
    """One run handed to the pool. ``done`` resolves once its final record is written."""

    execution_id: str
    caller: Caller
    workflow_id: str  # the id its events carry: the saved workflow's, or the definition's
    serial_key: str | None = None  # runs sharing a key run one at a time, in order (overlap=queue)
    automation_id: str | None = None  # a run of an automation: retried by its policy
    record: ExecutionRecord | None = None  # the queued record, when this process wrote it
    workflow: Workflow | None = None  # its parsed definition, when this process parsed it
    done: asyncio.Future[None] = field(init=False)
    cancel_requested: bool = False
    execution: Execution | None = None
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.done = asyncio.get_running_loop().create_future()

    @property
    def owner_id(self) -> str:
        return self.caller.user.id

    def resolve(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def request_cancel(self) -> bool:
        """Ask the run to stop: at once if its Execution runs, else before it starts."""
        first = not self.cancel_requested
        self.cancel_requested = True
        if self.execution is not None:
            self.execution.cancel()
        return first


class RunPool:
    def __init__(
        self,
        limits: RunLimits,
        execute: Callable[[Job], Awaitable[None]],
        drop: Callable[[Job, DropReason], Awaitable[None]],
    ) -> None:
        self.limits = limits
        self._execute = execute
        self._drop = drop
        self._waiting: deque[str] = deque()
        self._jobs: dict[str, Job] = {}
        self._running_by_owner: Counter[str] = Counter()
        self._running_serial: set[str] = set()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = False
        self._stopping = False
        self.room_freed = asyncio.Event()  # set whenever a run ends (the queue worker waits)

    # -- state --------------------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def running_count(self) -> int:
        return self._running

    @property
    def queued_count(self) -> int:
        return len(self._waiting)

    def running_for(self, owner_id: str) -> int:
        return self._running_by_owner[owner_id]

    def job(self, execution_id: str) -> Job | None:
        return self._jobs.get(execution_id)

    def is_started(self, execution_id: str) -> bool:
        """True once the run has left the queue (its task exists), until its record is final."""
        return execution_id in self._jobs and execution_id not in self._waiting

    def stats(self) -> dict[str, Any]:
        return {
            "running": self._running,
            "queued": len(self._waiting),
            "maxConcurrentRuns": self.limits.max_concurrent_runs,
            "maxConcurrentRunsPerUser": self.limits.max_concurrent_runs_per_user,
        }

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._accepting = True
        self._stopping = False
        self._fill()

    async def stop(self, grace: float = 10.0) -> None:
        """Take no more runs; record queued ones cancelled, cancel running ones, wait for all.

        A running run is asked to stop through its Execution (it then records itself
        ``cancelled``); a task still alive ``grace`` seconds later is cancelled outright, and
        one that ignores even that is left behind (logged) after another ``grace``.
        """
        self._accepting = False
        self._stopping = True
        waiting = [job for i in self._waiting if (job := self._jobs.pop(i, None)) is not None]
        self._waiting.clear()
        for job in list(self._jobs.values()):
            job.request_cancel()
        for job in waiting:
            job.cancel_requested = True
        drops = [self._drop_and_resolve(job, "stopped") for job in waiting]
        await asyncio.gather(*drops, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(tuple(self._tasks), timeout=grace)
        if self._tasks:
            tasks = tuple(self._tasks)
            for task in tasks:
                task.cancel()
            _, stuck = await asyncio.wait(tasks, timeout=grace)
            if stuck:
                log.error("%d run task(s) did not end when cancelled: left behind", len(stuck))

    # -- runs ---------------------------------------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queue ``job``. False (and nothing queued) when the pool is stopped, the run's record
        then stays ``queued`` and the next ``start()`` of this server marks it interrupted; or
        when the pool already holds a run of this id (the one it holds goes on)."""
        if not self._accepting:
            log.warning("run %s not started: the worker pool is stopped", job.execution_id)
            job.resolve()
            return False
        if job.execution_id in self._jobs:  # handed over twice (a claim raced a submit)
            log.warning("run %s is already in the worker pool: not queued again", job.execution_id)
            job.resolve()
            return False
        self._jobs[job.execution_id] = job
        self._waiting.append(job.execution_id)
        self._fill()
        return True

    async def cancel(self, execution_id: str) -> bool:
        """Cancel a run of this pool and return once its record is final; False if unknown."""
        job = self._jobs.get(execution_id)
        if job is None:
            return False
        if execution_id in self._waiting:
            self._waiting.remove(execution_id)
            self._jobs.pop(execution_id, None)
            job.cancel_requested = True
            await self._drop_and_resolve(job, "cancelled")
            return True
        job.request_cancel()
        await asyncio.shield(job.done)
        return True

    def discard(self, execution_id: str) -> bool:
        """Forget a run that has not started (its record is being deleted)."""
        if execution_id not in self._waiting:
            return False
        self._waiting.remove(execution_id)
        job = self._jobs.pop(execution_id, None)
        if job is not None:
            job.cancel_requested = True
            job.resolve()
        self._fill()
        return True

    # -- internals ----------------------------------------------------------------------------

    def _fill(self) -> None:
        """Start every waiting run that fits, oldest first."""
        if not self._accepting or not self._waiting:
            return
        limit, per_user = self.limits.max_concurrent_runs, self.limits.max_concurrent_runs_per_user
        blocked: set[str] = set()
        serial_blocked: set[str] = set(self._running_serial)
        for execution_id in list(self._waiting):
            if self._running >= limit:
                return
            job = self._jobs.get(execution_id)
            if job is None or job.task is not None:  # a stale id: never start it (or twice)
                log.error("worker pool: dropped a stale queued id %s", execution_id)
                self._waiting.remove(execution_id)
                continue
            owner, key = job.owner_id, job.serial_key
            if key is not None and key in serial_blocked:
                continue  # an earlier run of the same key runs (or waits) first
            if owner in blocked or self._running_by_owner[owner] >= per_user:
                blocked.add(owner)
                if key is not None:
                    serial_blocked.add(key)
                continue
            self._waiting.remove(execution_id)
            self._launch(job)
            if key is not None:
                serial_blocked.add(key)

    def _launch(self, job: Job) -> None:
        self._running += 1
        self._running_by_owner[job.owner_id] += 1
        if job.serial_key is not None:
            self._running_serial.add(job.serial_key)
        task = asyncio.get_running_loop().create_task(
            self._run(job), name=f"workscript-run-{job.execution_id}"
        )
        job.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Job) -> None:
        try:
            await self._execute(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("run %s failed inside the worker pool", job.execution_id)
        finally:
            self._running -= 1
            self._running_by_owner[job.owner_id] -= 1
            if job.serial_key is not None:
                self._running_serial.discard(job.serial_key)
            if self._running_by_owner[job.owner_id] <= 0:
                del self._running_by_owner[job.owner_id]
            if self._jobs.get(job.execution_id) is job:
                del self._jobs[job.execution_id]
            job.resolve()
            self.room_freed.set()
            if not self._stopping:
                self._fill()

    async def _drop_and_resolve(self, job: Job, reason: DropReason) -> None:
        try:
            await self._drop(job, reason)
        except Exception:
            log.exception("could not record run %s as %s", job.execution_id, reason)
        finally:
            job.resolve()
