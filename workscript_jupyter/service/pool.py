"""The in-process worker pool: queued runs, at most N at once, at most M per user.

Runs wait in one queue per owner, each numbered in arrival order. Whenever a slot frees (a run
ends) or a run arrives, the pool starts, in arrival order, every waiting run that fits both
limits: a run over its owner's limit stays queued while later runs of other users go ahead.
Choosing costs a look at the head of each owner's queue, not a walk over every waiting run: a
backlog of thousands (a webhook called faster than its runs end) must not make every arrival
and every end slower. Each started run is one task; what
it does is ``execute(job)`` (``RunExecutor.execute``), and ``drop(job, reason)`` records a run
that never started (cancelled while queued, or the server stopping).

Everything here happens on the event loop thread, so the counters need no lock.

A run enters a pool once: callers claim it in the store first (``claimed_by``), and a second
``submit`` of an id the pool already holds is refused (False) rather than queued twice; the
queue holds jobs (never an id without its job), and ``stop()`` returns even if a task will not
end.
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
    # the nodes running now (path -> (type, epoch seconds at start)), from the run's events:
    # the live timeline of a running run adds them to the node runs that ended
    running_nodes: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    task: asyncio.Task[None] | None = None
    queued_seq: int = field(default=0, init=False)  # its place in the pool's arrival order
    # set by the pool while the run holds a slot: frees it before the task ends (a run whose
    # final record is queued lets the next run start, in the same write: service/execute.py)
    on_slot_free: Callable[[], None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.done = asyncio.get_running_loop().create_future()

    @property
    def owner_id(self) -> str:
        return self.caller.user.id

    def resolve(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def free_slot(self) -> None:
        """This run no longer counts against the limits (once; nothing if it holds no slot)."""
        release, self.on_slot_free = self.on_slot_free, None
        if release is not None:
            release()

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
        self._waiting: dict[str, Job] = {}  # every queued run, by id
        self._queues: dict[str, deque[Job]] = {}  # the queued runs of each owner, in order
        self._arrivals = 0
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
        """Runs started and not done: running, or writing their final record (which no longer
        holds a slot of the limits)."""
        return len(self._jobs) - len(self._waiting)

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
            "running": self.running_count,
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
        waiting = list(self._waiting.values())
        for job in waiting:
            self._jobs.pop(job.execution_id, None)
        self._waiting.clear()
        self._queues.clear()
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
        self._arrivals += 1
        job.queued_seq = self._arrivals
        self._waiting[job.execution_id] = job
        self._queues.setdefault(job.owner_id, deque()).append(job)
        self._fill()
        return True

    async def cancel(self, execution_id: str) -> bool:
        """Cancel a run of this pool and return once its record is final; False if unknown."""
        job = self._jobs.get(execution_id)
        if job is None:
            return False
        if execution_id in self._waiting:
            self._dequeue(job)
            self._jobs.pop(execution_id, None)
            job.cancel_requested = True
            await self._drop_and_resolve(job, "cancelled")
            return True
        job.request_cancel()
        await asyncio.shield(job.done)
        return True

    def adopt_inline(self, job: Job) -> None:
        """Know a run that executes outside the pool's slots (a waited-for child run, which
        runs in its parent's task: child_runs.py), so that ``cancel`` and ``job`` (the live
        timeline) reach it like any running run. ``release_inline`` when it has ended."""
        self._jobs.setdefault(job.execution_id, job)

    def release_inline(self, job: Job) -> None:
        if self._jobs.get(job.execution_id) is job:
            del self._jobs[job.execution_id]
        job.resolve()

    def discard(self, execution_id: str) -> bool:
        """Forget a run that has not started (its record is being deleted)."""
        job = self._waiting.get(execution_id)
        if job is None:
            return False
        self._dequeue(job)
        self._jobs.pop(execution_id, None)
        job.cancel_requested = True
        job.resolve()
        self._fill()
        return True

    # -- internals ----------------------------------------------------------------------------

    def _fill(self) -> None:
        """Start every waiting run that fits, oldest first."""
        if not self._accepting:
            return
        limit, per_user = self.limits.max_concurrent_runs, self.limits.max_concurrent_runs_per_user
        while self._waiting and self._running < limit:
            oldest: Job | None = None
            for owner, queue in self._queues.items():
                if self._running_by_owner[owner] >= per_user:
                    continue
                job = self._first_startable(queue)
                if job is not None and (oldest is None or job.queued_seq < oldest.queued_seq):
                    oldest = job
            if oldest is None:
                return  # what waits is over its owner's limit or behind its serial key
            self._dequeue(oldest)
            if oldest.task is not None:  # never start a run twice
                log.error("worker pool: dropped a run queued twice, %s", oldest.execution_id)
                continue
            self._launch(oldest)

    def _first_startable(self, queue: deque[Job]) -> Job | None:
        """The oldest run of one owner's queue that its serial key lets start: a key runs one
        run at a time, in order (an earlier run of the key, running or waiting, goes first)."""
        earlier: set[str] = set()
        for job in queue:
            key = job.serial_key
            if key is None or (key not in self._running_serial and key not in earlier):
                return job
            earlier.add(key)
        return None

    def _dequeue(self, job: Job) -> None:
        del self._waiting[job.execution_id]
        queue = self._queues[job.owner_id]
        if queue[0] is job:
            queue.popleft()
        else:
            queue.remove(job)
        if not queue:
            del self._queues[job.owner_id]

    def _launch(self, job: Job) -> None:
        self._running += 1
        self._running_by_owner[job.owner_id] += 1
        if job.serial_key is not None:
            self._running_serial.add(job.serial_key)
        job.on_slot_free = lambda: self._release_slot(job)
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
            job.free_slot()  # unless the run freed it already
            if self._jobs.get(job.execution_id) is job:
                del self._jobs[job.execution_id]
            job.resolve()

    def _release_slot(self, job: Job) -> None:
        self._running -= 1
        self._running_by_owner[job.owner_id] -= 1
        if job.serial_key is not None:
            self._running_serial.discard(job.serial_key)
        if self._running_by_owner[job.owner_id] <= 0:
            del self._running_by_owner[job.owner_id]
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
