"""``WorkscriptService``: the use cases, the one place that coordinates engine, store and runs.

The server's handlers and WebSocket, the kernel's REST client and the CLI all go through it.
Every store call runs off the event loop (``store.aio.run_off_loop``); every call is scoped to
its ``Caller`` (another user's workflow or run is ``RecordNotFoundError``, exactly like one that
does not exist) unless the caller is an admin.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Collection, Sequence
from typing import Any, Final

from ..engine import DEFAULT_LIMITS, EngineLimits, EventBus, NodeRegistry, Services
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ExecutionRecord, Scope, WorkflowRecord, utcnow
from .automation_history import AutomationHistory
from .automations import AutomationUseCases
from .cache import ReadCache
from .execute import RunExecutor
from .identity import Identities
from .pool import RunPool
from .recovery import RunRecovery
from .runs import RunUseCases
from .stranded_runs import StrandedRuns, interrupted_error
from .values import ACTIVE_STATUSES, Caller, RunLimits, ServicesFactory
from .worker import QueueWorker
from .workflows import WorkflowUseCases

__all__ = ["WorkscriptService", "default_server_id"]

log = logging.getLogger(__name__)

_LEFTOVER_PAGE: Final = 200


def default_server_id() -> str:
    """``host:pid``: what a server writes into ``claimed_by`` unless told otherwise."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _default_services(caller: Caller) -> Services:
    return Services()


class WorkscriptService(
    WorkflowUseCases, RunUseCases, AutomationUseCases, AutomationHistory, RunRecovery
):
    """Workflows, runs, automations and identities over one store, registry and event bus."""

    def __init__(
        self,
        store: Store,
        registry: NodeRegistry,
        *,
        services_factory: ServicesFactory = _default_services,
        limits: RunLimits | None = None,
        engine_limits: EngineLimits = DEFAULT_LIMITS,
        bus: EventBus | None = None,
        server_id: str | None = None,
        single_user: bool = True,
        admin_users: Collection[str] = frozenset(),
        owner_username: str = "owner",
        read_cache_seconds: float = 0.0,
        run_workers: bool = True,
    ) -> None:
        self.store = store
        # False: runs are queued unclaimed for `workscript worker` processes (worker.py)
        self.run_workers = run_workers
        self._workflow_cache: ReadCache[WorkflowRecord] = ReadCache(read_cache_seconds)
        self.registry = registry
        self.services_factory = services_factory
        self.limits = limits if limits is not None else RunLimits()
        self.engine_limits = engine_limits  # a run's state size, a workflow's step count
        self.bus = bus if bus is not None else EventBus()
        self.server_id = server_id or default_server_id()
        self.single_user = single_user
        self.identities = Identities(
            store,
            single_user=single_user,
            admin_users=admin_users,
            owner_username=owner_username,
        )
        self._executor = RunExecutor(store, registry, self.bus, services_factory, self.server_id)
        self._executor.engine_limits = engine_limits
        self._pool = RunPool(self.limits, self._executor.execute, self._executor.drop)
        # final records retried through a store outage; a sweep re-marks runs it stranded
        self.stranded = StrandedRuns(
            store, self._pool, self.server_id, on_interrupted=self._retry_interrupted
        )
        self._executor.final_writes = self.stranded
        self._admission: dict[str, asyncio.Lock] = {}  # one per owner: counts then inserts
        # a lone single-user server owns every leftover run; servers sharing a database only
        # their own (the scheduler's leader takes over those of dead servers: recovery.py)
        self.interrupt_all_leftovers = single_user
        self._owner_callers: ReadCache[Caller] = ReadCache(60.0)
        self._retry_tasks: set[asyncio.Task[None]] = set()
        self._executor.on_finished = self.run_finished
        self._queue_worker = QueueWorker(self)
        self.on_automations_changed: Callable[[], None] | None = None  # the scheduler's reload
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def pool(self) -> RunPool:
        return self._pool

    @property
    def started(self) -> bool:
        return self._started

    @property
    def queue_worker(self) -> QueueWorker:
        return self._queue_worker

    @property
    def runs_started(self) -> int:
        """How many runs this process has started (each exactly once: ``executions.start``)."""
        return self._executor.runs_started

    async def start(self) -> None:
        """Mark the runs this server left queued or running as ``interrupted`` (in single-user
        mode: every such run), then start the worker pool. A second call does nothing."""
        if self._started:
            return
        interrupted = await run_off_loop(self._interrupt_leftovers)
        if interrupted:
            log.warning(
                "%d run(s) left by a previous server were marked interrupted", len(interrupted)
            )
        if self.run_workers:
            self._pool.start()
            await self._queue_worker.start()
            self.stranded.start()
        for record in interrupted:  # an automation's run is retried if its policy says so
            if record.automation_id is not None:
                self._spawn_retry(record.id, record.automation_id)
        self._started = True

    async def stop(self) -> None:
        """Take no more runs; queued and running runs end ``cancelled`` and are recorded; no
        task of the pool is left when this returns."""
        self._started = False
        await self.stranded.stop()
        await self._queue_worker.stop()
        await self.stop_retries()
        await self._pool.stop()

    def _retry_interrupted(self, record: ExecutionRecord) -> None:
        if record.automation_id is not None:  # an automation's run: retried by its policy
            self._spawn_retry(record.id, record.automation_id)

    def _interrupt_leftovers(self) -> list[ExecutionRecord]:
        """In a store thread: every leftover run of this server (all of them if single-user)."""
        executions = self.store.executions
        scope = Scope(user_id=f"server:{self.server_id}", is_admin=True)
        leftovers: list[ExecutionRecord] = []
        cursor: str | None = None
        while True:
            page = executions.list(
                scope, status=ACTIVE_STATUSES, limit=_LEFTOVER_PAGE, cursor=cursor
            )
            leftovers.extend(
                r
                for r in page.items
                if (self.interrupt_all_leftovers or r.claimed_by == self.server_id)
                and self._pool.job(r.id) is None  # queued by this process before start()
            )
            cursor = page.next_cursor
            if cursor is None:
                break
        for record in leftovers:
            ended_at = utcnow()
            started = record.started_at
            executions.update(
                scope,
                record.id,
                status="interrupted",
                error=interrupted_error(record),
                ended_at=ended_at,
                duration_ms=(ended_at - started).total_seconds() * 1000 if started else None,
            )
        return leftovers

    # -- identity and catalogue ---------------------------------------------------------------

    async def caller_for(
        self,
        username: str,
        *,
        display_name: str | None = None,
        hub_groups: Sequence[str] = (),
    ) -> Caller:
        """The workscript caller of a Jupyter identity, created on first sight (see identity)."""
        return await self.identities.caller_for(
            username, display_name=display_name, hub_groups=hub_groups
        )

    def catalogue(self) -> list[dict[str, Any]]:
        """The metadata of every registered node, as dicts."""
        return [meta.to_dict() for meta in self.registry.metadata()]
