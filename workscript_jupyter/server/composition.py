"""How the extension's parts are built and wired: the composition root's builders.

``WorkscriptApp`` (app.py) holds the settings and the extension's life cycle; it reads its
traits and calls these builders with plain values:

- ``open_store``: the database engine (migrated unless told not to) and the ``SqlStore``;
- ``run_services``: what each run's nodes get (per-user roots, code and network policy) and the
  warm kernel pool behind them;
- ``build_service``: the ``WorkscriptService`` and its use cases, on the store;
- ``build_scheduler``: leader election and fires, wired to the automations and recovery;
- ``build_hub``: the WebSocket's ``EventHub``, reading through the runs and workflows;
- ``handler_settings``: what the handlers find in ``settings["workscript"]``, one entry per use
  case (a handler uses the one it needs, never the whole service).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .routes import optional_module

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..engine import EngineLimits, EventBus, NodeRegistry
    from ..runner import KernelPool
    from ..scheduler.core import Scheduler, SchedulerSettings
    from ..service import RunLimits, WorkscriptService
    from ..service.ai import AiSettings
    from ..service.connections import GoogleSettings
    from ..service.user_isolation import IsolationSettings, UserServices
    from ..store.sql import SqlStore
    from .events_hub import EventHub

__all__ = [
    "build_hub",
    "build_scheduler",
    "build_service",
    "default_server_id",
    "handler_settings",
    "open_store",
    "run_services",
]


def default_server_id(port: int | None) -> str:
    """``<hostname>:<port>`` (the process id when there is no port)."""
    return f"{socket.gethostname()}:{port or os.getpid()}"


def open_store(
    url: str,
    *,
    auto_migrate: bool,
    log: logging.Logger,
    sqlite_synchronous: str = "normal",
) -> tuple[Engine, SqlStore]:
    """The engine (migrated unless ``auto_migrate`` is off) and the store on it.

    A database that cannot be reached or migrated stops the extension with the masked URL in
    the log, rather than serving requests that would all fail.
    """
    from ..errors import WorkscriptError
    from ..store import migrate
    from ..store.connection import create_store_engine, mask_url

    log.info("workscript: database %s", mask_url(url))
    engine = create_store_engine(url, sqlite_synchronous=sqlite_synchronous)
    try:
        if auto_migrate:
            migrate.upgrade(engine)
    except WorkscriptError as error:
        log.error("workscript: %s", error.message)
        engine.dispose()
        raise
    from ..store.sql import SqlStore

    return engine, SqlStore(engine)


def run_services(
    isolation: IsolationSettings,
    *,
    kernel_pool_size: int,
    kernel_pool_kernels: list[str],
    remote_kernels: bool = False,
    owner_servers: Any = None,
) -> tuple[UserServices, KernelPool | None]:
    """Each run's Services (user_isolation.py) and the kernel pool behind them, which starts
    later (none without a root or with a pool size of 0). With ``remote_kernels`` (a kernel
    gateway is configured) the pool's kernels live on the gateway, and a pool of size 0 still
    exists: it starts each run's kernel there on demand."""
    from ..runner import KernelPool
    from ..service.user_isolation import UserServices

    if kernel_pool_size < 0:
        raise ValueError(f"WorkscriptApp.kernel_pool_size must be >= 0, not {kernel_pool_size}")
    pool = None
    if isolation.root is not None and (kernel_pool_size > 0 or remote_kernels):
        pool_class: type[KernelPool] = KernelPool
        if remote_kernels:
            from ..runner.remote_kernels import RemoteKernelPool

            pool_class = RemoteKernelPool
        pool = pool_class(
            kernel_pool_size,
            kernel_names=kernel_pool_kernels,
            cwd=str(isolation.root),
            env=isolation.kernel_env(),
        )
    owner_notebooks = None
    if owner_servers is not None:  # on a hub: notebook steps run in their owner's server
        from ..integrations.jupyterhub import OwnerNotebooks

        def owner_notebooks(user: str) -> OwnerNotebooks:
            return OwnerNotebooks(owner_servers, user)

    return UserServices(isolation, pool=pool, owner_notebooks=owner_notebooks), pool


def build_service(
    store: SqlStore,
    registry: NodeRegistry,
    services: UserServices,
    *,
    bus: EventBus,
    server_id: str,
    limits: RunLimits,
    engine_limits: EngineLimits,
    single_user: bool,
    admin_users: Collection[str],
    read_cache_seconds: float,
    run_workers: bool,
    resource_max_bytes: int,
    ai: AiSettings | None = None,
    google: GoogleSettings | None = None,
) -> WorkscriptService:
    """The service and its use cases; the code-node policy learns users' hub groups from it."""
    from ..service import WorkscriptService

    service = WorkscriptService(
        store,
        registry,
        services_factory=services,
        limits=limits,
        engine_limits=engine_limits,
        bus=bus,
        server_id=server_id,
        single_user=single_user,
        admin_users=frozenset(admin_users),
        read_cache_seconds=read_cache_seconds,
        run_workers=run_workers,
        resource_max_bytes=resource_max_bytes,
        ai=ai,
        google=google,
    )
    services.groups_of = service.identities.groups_of
    return service


def build_scheduler(
    service: WorkscriptService,
    *,
    db_url: str,
    server_id: str,
    redis_url: str | None,
    lock_dir: str | None,
    settings: SchedulerSettings,
) -> Scheduler:
    """This server's scheduler: the leader lock, the fires (``automations.fire``), the
    takeover of dead servers' runs (``recovery``), and this server's liveness lock."""
    from ..scheduler.core import Scheduler
    from ..scheduler.leader import leader_lock_for

    def lock(name: str) -> Any:
        return leader_lock_for(db_url, redis_url=redis_url, name=name, lock_dir=lock_dir)

    async def is_alive(other_server: str) -> bool:
        probe = lock(f"workscript-server-{other_server}")
        taken = await probe.try_acquire()
        await probe.release()
        return not taken

    async def recover() -> Any:
        return await service.recovery.recover_dead_servers(is_alive)

    scheduler = Scheduler(
        service.store,
        lock("workscript-scheduler"),
        service.automations.fire,
        server_id=server_id,
        settings=settings,
        recover=recover,
        liveness=lock(f"workscript-server-{server_id}"),
    )
    service.automations.on_changed = scheduler.notify_changed
    service.interrupt_all_leftovers = False  # the leader recovers dead servers' runs
    return scheduler


def build_hub(
    service: WorkscriptService, *, redis_url: str | None, db_url: str, server_id: str
) -> EventHub | None:
    """The WebSocket's hub (when ``server/websocket.py`` is there): the bus's events, filtered
    by what each reader may see of runs and workflows; across servers through Redis."""
    websocket = optional_module("websocket")
    if websocket is None:
        return None
    redis_url = websocket.resolve_redis_url(redis_url)
    channel = None
    if redis_url:
        from .events_redis import channel_for  # imports redis: only when configured

        channel = channel_for(db_url)
    hub: EventHub = websocket.EventHub(
        service.bus,
        runs=service.runs,
        workflows=service.workflows,
        redis_url=redis_url,
        redis_channel=channel,
        server_id=server_id,
    )
    return hub


def handler_settings(service: WorkscriptService) -> dict[str, Any]:
    """The entries of ``settings["workscript"]`` the handlers read (base.py)."""
    return {
        "service": service,  # the composition itself: its life cycle, the health check
        "bus": service.bus,
        "identities": service.identities,
        "workflows": service.workflows,
        "runs": service.runs,
        "automations": service.automations,
        "automation_history": service.history,
        # use cases other issues add (None until then): resources, AI, plugins
        "resources": getattr(service, "resources", None),
        "ai": getattr(service, "ai", None),
        "connections": getattr(service, "connections", None),
    }
