"""``WorkscriptService``: the composition of the use cases, and their life cycle.

The use cases are objects of their own, each given only what it needs:

- ``workflows`` (``Workflows``): saved workflows, validation, the node catalogue;
- ``runs`` (``Runs``): start, wait, list, cancel, rerun and delete runs;
- ``automations`` (``Automations``): automation CRUD, manual and webhook runs, scheduler fires;
- ``history`` (``AutomationHistory``): an automation's runs, fires and stats, cron validation;
- ``recovery`` (``RunRecovery``): retries of automation runs, dead servers' runs;
- ``identities`` (``Identities``): a Jupyter identity mapped to a ``Caller``;
- ``ai`` (``AiService``): the model catalogue, AI usage and budgets; with an API key, the
  ``ctx.services.ai`` of each caller's runs and the catalogue's background sync;
- ``resources`` (``Resources``): the caller's resources, and the ``ctx.services.resources``
  of each caller's runs;
- ``connections`` (``Connections``): the caller's Google connections and their consent flow;
  with an OAuth client and a secret key, the ``ctx.services.google`` of each caller's runs.

This class builds them over one store, registry and event bus (with the parts they share: the
``RunPool`` and its ``RunExecutor``, the ``RunQueue``, the owners' callers, the workflow read
cache), and starts and stops what works in the background: the pool, the ``QueueWorker``, the
stranded-runs sweep and the retries. The composition roots (server/app.py, cli_worker.py) build
it; the server's handlers each use the one use case they need. Every store call runs off the
event loop (``store.aio.run_off_loop``); every call is scoped to its ``Caller`` (another user's
workflow or run is ``RecordNotFoundError``, exactly like one that does not exist) unless the
caller is an admin.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection
from typing import Final

from ..engine import DEFAULT_LIMITS, EngineLimits, EventBus, NodeRegistry, Services
from ..errors import RecordNotFoundError
from ..store.aio import run_off_loop
from ..store.base import Store
from ..store.records import ExecutionRecord, Scope, WorkflowRecord, utcnow
from .ai import AiService, AiSettings
from .automation_history import AutomationHistory
from .automations import Automations
from .cache import ReadCache
from .child_runs import ChildRuns
from .connections import Connections, GoogleSettings
from .execute import RunExecutor
from .identity import Identities
from .owners import OwnerCallers
from .parsed_workflows import ParsedWorkflows
from .pool import RunPool
from .recovery import RunRecovery
from .resources import DEFAULT_MAX_BYTES, Resources
from .run_queue import RunQueue
from .run_services import RunServices
from .runs import Runs
from .stranded_runs import StrandedRuns, interrupted_error
from .values import ACTIVE_STATUSES, Caller, RunLimits, ServicesFactory
from .worker import QueueWorker
from .workflows import Workflows

__all__ = ["WorkscriptService", "default_server_id"]

log = logging.getLogger(__name__)

_LEFTOVER_PAGE: Final = 200


def default_server_id() -> str:
    """``host:pid``: what a server writes into ``claimed_by`` unless told otherwise."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _default_services(caller: Caller) -> Services:
    return Services()


class WorkscriptService:
    """The use cases over one store, registry and event bus, and their background work."""

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
        ai: AiSettings | None = None,
        resource_max_bytes: int = DEFAULT_MAX_BYTES,
        google: GoogleSettings | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.services_factory = services_factory  # what each run's nodes get (root_dir...)
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
        # -- the parts the use cases share
        # runWorkflow's child runs: each run's Services gains ``workflows`` (child_runs.py)
        self.child_runs = ChildRuns(self.limits, self.server_id)
        # each run's services: the factory's, plus gateways bound to its caller (run_services.py)
        self.run_services = RunServices()
        self.run_services.register("workflows", self.child_runs.runner)
        # the caller's resources, for REST and for the resource-* nodes of their runs
        self.resources = Resources(store, max_bytes=resource_max_bytes)
        self.run_services.register("resources", self.resources.gateway)
        # AI: always readable (catalogue, usage); runs get a gateway only with an API key
        self.ai = AiService(store, ai if ai is not None else AiSettings())
        if self.ai.configured:
            self.run_services.register("ai", self.ai.gateway_for)
        # Google: the caller's connections; runs get a gateway when a client and a key exist
        self.connections = Connections(store, google if google is not None else GoogleSettings())
        if self.connections.configured:
            self.run_services.register("google", self.connections.gateway)
        executor = RunExecutor(
            store, registry, self.bus, self.run_services.wrap(services_factory), self.server_id
        )
        executor.engine_limits = engine_limits
        self.executor = executor
        self.pool = RunPool(self.limits, executor.execute, executor.drop)
        self.queue = RunQueue(self.pool, self.server_id, run_workers=run_workers)
        owners = OwnerCallers(store)
        workflow_cache: ReadCache[WorkflowRecord] = ReadCache(read_cache_seconds)
        # -- the use cases
        self.workflows = Workflows(store, registry, engine_limits, workflow_cache)
        parsed = ParsedWorkflows(registry, engine_limits)  # saved workflows, once per version
        self.runs = Runs(
            store,
            registry,
            engine_limits=engine_limits,
            limits=self.limits,
            queue=self.queue,
            executor=executor,
            parsed=parsed,
        )
        self.child_runs.bind(self.runs, executor, parsed, self.pool)
        self.automations = Automations(
            store,
            registry,
            engine_limits=engine_limits,
            bus=self.bus,
            queue=self.queue,
            owners=owners,
            workflow_cache=workflow_cache,
            writes=executor.writes,
            parsed=parsed,
        )
        self.history = AutomationHistory(store)
        self.recovery = RunRecovery(store, self.queue, owners)
        # -- the background work
        # final records retried through a store outage; a sweep re-marks runs it stranded
        self.stranded = StrandedRuns(
            store, self.pool, self.server_id, on_interrupted=self.recovery.retry_interrupted
        )
        executor.final_writes = self.stranded
        executor.on_finished = self.recovery.run_finished
        self.queue_worker = QueueWorker(store, self.pool, self.server_id, owners)
        # a lone single-user server owns every leftover run; servers sharing a database only
        # their own (the scheduler's leader takes over those of dead servers: recovery.py)
        self.interrupt_all_leftovers = single_user
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def run_workers(self) -> bool:
        """False: runs are queued unclaimed for `workscript worker` processes (worker.py)."""
        return self.queue.run_workers

    @property
    def started(self) -> bool:
        return self._started

    @property
    def runs_started(self) -> int:
        """How many runs this process has started (each exactly once: ``executions.start``)."""
        return self.executor.runs_started

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
            self.pool.start()
            await self.queue_worker.start()
            self.stranded.start()
        for record in interrupted:  # an automation's run is retried if its policy says so
            self.recovery.retry_interrupted(record)
        self.ai.start()  # the catalogue's background sync (one server per interval)
        self._started = True

    async def stop(self) -> None:
        """Take no more runs; queued and running runs end ``cancelled`` and are recorded; no
        task of the pool is left when this returns."""
        self._started = False
        await self.stranded.stop()
        await self.queue_worker.stop()
        await self.recovery.stop_retries()
        await self.pool.stop()
        await self.ai.stop()  # after the runs: their completions use its client

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
                and self.pool.job(r.id) is None  # queued by this process before start()
            )
            cursor = page.next_cursor
            if cursor is None:
                break
        interrupted: list[ExecutionRecord] = []
        for record in leftovers:
            ended_at = utcnow()
            started = record.started_at
            try:
                executions.update(
                    scope,
                    record.id,
                    status="interrupted",
                    error=interrupted_error(record),
                    ended_at=ended_at,
                    duration_ms=(ended_at - started).total_seconds() * 1000 if started else None,
                )
            except RecordNotFoundError:
                continue  # deleted since it was listed: nothing left to mark
            interrupted.append(record)
        return interrupted
