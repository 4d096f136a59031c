"""``WorkscriptApp``: the server extension — its settings and its life cycle.

Every setting is a trait here, with its help text (``workscript settings`` lists them). At
``initialize_settings`` the app reads them and has ``composition.py`` build the parts: the
store's database (engine, migrations at start, ``SqlStore``), each run's services and the warm
kernel pool, the event bus, the ``WorkscriptService`` with its use cases, the scheduler and,
when ``server/websocket.py`` is there, the ``EventHub`` behind ``/workscript/ws``.
``self.settings["workscript"]`` carries them to the handlers; ``routes.py`` is the route table.
At start and stop the app starts and stops them, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, CaselessStrEnum, Dict, Float, Integer, List, Unicode, default

from .._version import __version__
from ..nodes import builtin_registry
from ..runner.kernel_env import DEFAULT_ENV_ALLOW
from .bad_settings import built_or_stop
from .composition import (
    build_hub,
    build_scheduler,
    build_service,
    default_server_id,
    handler_settings,
    open_store,
    run_services,
)
from .routes import routes
from .secret_traits import SECRET_BOX_SETTING
from .traits import WorkscriptTraits

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..plugins import PluginHost
    from ..runner import KernelPool
    from ..scheduler.core import Scheduler
    from ..service.user_isolation import UserServices

__all__ = ["WorkscriptApp"]


class WorkscriptApp(ExtensionApp, WorkscriptTraits):  # the trait groups: traits.py
    name = "workscript"
    description = "Workflow automation for Jupyter: engine, REST API and scheduler."
    version = __version__
    load_other_extensions = True
    _engine: Engine | None = None
    _pruner: asyncio.Task[None] | None = None
    _service_started = False
    _hub_started = False
    _pool: KernelPool | None = None
    _notebooks: UserServices | None = None
    _scheduler: Scheduler | None = None
    _db_url: str = ""
    _account_closers: list[Any] = []
    _plugins: PluginHost | None = None  # the installed plugins (docs/plugins.md)

    db_url = Unicode(
        None,
        allow_none=True,
        help=(
            "SQLAlchemy URL of the workscript database. Unset: WORKSCRIPT_DB_URL, else "
            "DB_HOST/DB_PORT/DB_USER/DB_PASSWORD/DB_NAME (MySQL), else "
            "sqlite:///<jupyter data dir>/workscript.sqlite."
        ),
    ).tag(config=True)

    auto_migrate = Bool(
        True,
        help=(
            "Upgrade the database schema to the newest migration at start. Turn it off when "
            "several servers share a database and `workscript db upgrade` is run on deploy."
        ),
    ).tag(config=True)

    sqlite_synchronous = CaselessStrEnum(
        ["normal", "full", "extra"],
        default_value="normal",
        help=(
            "SQLite's PRAGMA synchronous (a SQLite store only; it runs in WAL mode). normal: a "
            "commit survives the server process being killed, and the last commits before a "
            "power loss or an OS crash may roll back (the file stays intact); commits do not "
            "wait for the disk. full: every commit waits for the disk (an fsync), durable "
            "through a power loss, and the run throughput drops to what the disk allows "
            "(docs/storage.md)."
        ),
    ).tag(config=True)

    thread_switch_ms = Float(
        0.5,
        help=(
            "Python's thread switch interval for the server process, in milliseconds "
            "(sys.setswitchinterval; Python's default is 5). Store calls run in threads: with "
            "the default, a store thread that needs the interpreter back while the event loop "
            "is busy waits up to 5 ms each time, several times per batch of writes. 0.5 raised "
            "webhook runs/s by a third here (docs/performance.md). 0 leaves Python's value."
        ),
    ).tag(config=True)

    read_cache_seconds = Float(
        2.0,
        help=(
            "How long this server may answer a workflow read from memory. Its own writes update "
            "the cache at once; with several servers on one database, another server's change "
            "shows here after at most this long. 0 turns the cache off."
        ),
    ).tag(config=True)

    execution_retention_days = Float(
        30.0,
        help="Delete finished runs older than this many days (0: keep them all).",
    ).tag(config=True)

    max_executions_per_workflow = Integer(
        1000,
        help="Keep at most this many finished runs per workflow, the newest (0: no cap).",
    ).tag(config=True)

    prune_interval_seconds = Float(
        3600.0,
        help="How often old runs are pruned (in batches, off the event loop).",
    ).tag(config=True)

    root_dir = Unicode(
        help=(
            "The only folder runs on this server may read and write (filesystem and notebook "
            "nodes). Default: the Jupyter server's root_dir."
        ),
    ).tag(config=True)

    @default("root_dir")
    def _default_root_dir(self) -> str:
        serverapp = getattr(self, "serverapp", None)
        return str(getattr(serverapp, "root_dir", "") or os.getcwd())

    max_concurrent_runs = Integer(
        4, help="How many runs this server executes at once, all users together."
    ).tag(config=True)

    max_concurrent_runs_per_user = Integer(
        2, help="How many runs of one user execute at once; the others wait in the queue."
    ).tag(config=True)

    max_queued_runs_per_user = Integer(
        100,
        help="How many runs one user may have queued or running; more get HTTP 429.",
    ).tag(config=True)

    max_state_mb = Float(
        64.0,
        help=(
            "The largest a run's state may grow, in MB (estimated as values are written); a run "
            "past it fails with STATE_TOO_LARGE, and what is kept of its state stays within it."
        ),
    ).tag(config=True)

    max_workflow_steps = Integer(
        10_000,
        help=(
            "The most steps a workflow may have, nested steps included; a larger definition is "
            "refused (400, TOO_MANY_STEPS) before it is compiled."
        ),
    ).tag(config=True)

    max_request_body_mb = Float(
        10.0,
        help=(
            "The largest request body the REST API accepts, in MB (larger: HTTP 413, refused "
            "from Content-Length or while streaming, before the body is held)."
        ),
    ).tag(config=True)

    max_webhook_body_mb = Float(
        1.0,
        help=(
            "The largest body a public webhook (POST /workscript/hooks/{token}) accepts, in MB "
            "(never above max_request_body_mb; larger: HTTP 413)."
        ),
    ).tag(config=True)

    resource_max_bytes = Integer(
        10 * 1024 * 1024,
        help=(
            "The largest content a resource may hold, in bytes (10 MiB); larger: HTTP 413. "
            "The resource routes accept request bodies big enough for it even when "
            "max_request_body_mb is smaller (base64 and multipart overhead included)."
        ),
    ).tag(config=True)

    run_wait_max_seconds = Float(
        300.0,
        help=(
            "The longest a request may wait for a run to end: the ?wait= of "
            "POST /workscript/workflows/{id}/run and the original's POST /workscript/workflows/run."
        ),
    ).tag(config=True)

    single_user = Bool(
        True,
        help=(
            "True: every Jupyter identity is this server's one owner (an admin). False (a shared "
            "server): one workscript user per Jupyter/JupyterHub user, seeing only their own "
            "workflows and runs; admins are listed in admin_users."
        ),
    ).tag(config=True)

    admin_users = List(
        Unicode(),
        default_value=[],
        help="Jupyter usernames (or 'group:<hub group>') of admins when single_user is False.",
    ).tag(config=True)

    user_root_template = Unicode(
        "",
        help=(
            "Each user's run root (filesystem and notebook nodes, the kernels' working folder): "
            "{root} (root_dir), {username} and {user_id}, both made safe folder names; relative "
            "paths are inside root_dir; created on first use. Empty: {root}/{username} when "
            "single_user is False, root_dir itself when it is True."
        ),
    ).tag(config=True)

    code_users = List(
        Unicode(),
        default_value=[],
        help=(
            "On a shared server (single_user False), the non-admin Jupyter usernames allowed to "
            "run python and notebook nodes (admins always may; the others get an error). The "
            "kernels run as the server's OS user: allow only trusted users."
        ),
    ).tag(config=True)

    code_groups = List(
        Unicode(),
        default_value=[],
        help="JupyterHub groups whose members may run python and notebook nodes (shared server).",
    ).tag(config=True)

    kernel_env_allow = List(
        Unicode(),
        default_value=list(DEFAULT_ENV_ALLOW),
        help=(
            "On a shared server, the only names of the server's environment the kernels of "
            "python and notebook nodes get (secrets such as WORKSCRIPT_DB_URL or JWT_SECRET "
            "never). A single-user server's kernels get its whole environment minus those "
            "secrets."
        ),
    ).tag(config=True)

    kernel_env_extra = Dict(
        value_trait=Unicode(),
        default_value={},
        help="Environment variables added to every kernel of python and notebook nodes.",
    ).tag(config=True)

    http_allow_private = List(
        Unicode(),
        default_value=[],
        help=(
            "On a shared server outbound requests (fetchApi) may not reach loopback, "
            "link-local (cloud metadata), private, CGNAT or multicast addresses, checked on the "
            "address connected to and on every redirect; these hosts, IPs or CIDR networks "
            "are let through anyway (e.g. ['10.1.0.0/16', 'api.internal'])."
        ),
    ).tag(config=True)

    server_id = Unicode(
        "",
        help=(
            "How this server marks the runs it executes (claimed_by); runs it left queued or "
            "running are marked interrupted when it starts again. Default: <hostname>:<port>."
        ),
    ).tag(config=True)

    kernel_pool_size = Integer(
        1,
        help=(
            "Kernels per pooled kernel name started ahead of time, so a notebook or python node "
            "does not wait for a kernel to start. Each is used by one run and then shut down; "
            "the pool refills in the background. 0 turns the pool off (a kernel per run)."
        ),
    ).tag(config=True)

    kernel_pool_kernels = List(
        Unicode(),
        default_value=["python3"],
        help="The kernel names the pool keeps warm; other kernels start on demand.",
    ).tag(config=True)

    run_workers = Bool(
        True,
        help=(
            "Execute runs in this server. False: the runs this server starts wait in the "
            "database, unclaimed, for `workscript worker` processes (on any machine that "
            "reaches the database) to take them."
        ),
    ).tag(config=True)

    run_scheduler = Bool(
        None,
        allow_none=True,
        help=(
            "Take part in scheduling (cron automations): the servers sharing a database elect "
            "one leader that fires each tick once. Default: on, except for role client."
        ),
    ).tag(config=True)

    scheduler_poll_seconds = Float(
        5.0, help="How often the leader re-reads the automations table (other servers' changes)."
    ).tag(config=True)

    scheduler_lock_check_seconds = Float(
        2.0,
        help="How often each server checks (or tries to take) the leader lock and renews it.",
    ).tag(config=True)

    scheduler_misfire_threshold_seconds = Float(
        15.0,
        help=(
            "A tick found later than this was missed (no leader at the time) and follows its "
            "automation's misfire policy; an earlier one simply fires."
        ),
    ).tag(config=True)

    redis_url = Unicode(
        None,
        allow_none=True,
        help="Redis URL that carries run events between servers. Unset: REDIS_URL, else none.",
    ).tag(config=True)

    # -- the extension's life cycle (composition.py builds the parts) ---------------------

    def initialize_settings(self) -> None:
        """Build every part from the settings and hand the handlers theirs."""
        from ..engine import EngineLimits, EventBus
        from ..scheduler.core import SchedulerSettings
        from ..service import RunLimits
        from ..service.user_isolation import IsolationSettings
        from ..store.connection import resolve_db_url

        self.check_role()  # hub_traits.py
        if self.role == "client":  # a hub user server: forwards to the service (client_role.py)
            self.settings["workscript"] = self.client_role_settings()
            return
        if self.thread_switch_ms < 0:
            raise ValueError(
                f"WorkscriptApp.thread_switch_ms must be >= 0, not {self.thread_switch_ms}"
            )
        if self.thread_switch_ms > 0:
            sys.setswitchinterval(self.thread_switch_ms / 1000)
        data_dir = getattr(self.serverapp, "data_dir", None) or None
        account_config = self._account_config(data_dir)
        secret_box = self._secret_box(data_dir)  # secret_traits.py: OAuth tokens at rest
        registry = builtin_registry()
        self._db_url = resolve_db_url(self.db_url, data_dir=data_dir)
        self._engine, store = open_store(
            self._db_url,
            auto_migrate=self.auto_migrate,
            log=self.log,
            sqlite_synchronous=self.sqlite_synchronous,
        )
        from .handlers.plugins import open_plugins

        self._plugins = open_plugins(  # a broken plugin is logged and skipped, never fatal
            registry,
            self._engine,
            auto_migrate=self.auto_migrate,
            settings=self.plugin_settings,
            disabled=self.disabled_plugins,
            log=self.log,
        )
        root = Path(self.root_dir).expanduser().resolve() if self.root_dir else None
        self._notebooks, self._pool = run_services(
            IsolationSettings(
                shared=not self.single_user,
                root=root,
                user_root_template=self.user_root_template,
                code_users=frozenset(self.code_users),
                code_groups=frozenset(self.code_groups),
                kernel_env_allow=tuple(self.kernel_env_allow),
                kernel_env_extra=dict(self.kernel_env_extra),
                http_allow_private=tuple(self.http_allow_private),
            ),
            kernel_pool_size=self.kernel_pool_size,
            kernel_pool_kernels=list(self.kernel_pool_kernels),
            remote_kernels=self.kernel_gateway() is not None,  # kernel_gateway_traits.py
            owner_servers=self.hub_owner_servers(),  # hub_traits.py
        )
        port = getattr(getattr(self, "serverapp", None), "port", None)
        server_id = self.server_id or default_server_id(port)
        ai = self._ai_settings(  # ai_traits.py: the OpenRouter client, the sync, the budget
            db_url=self._db_url,
            redis_url=self.redis_url or os.environ.get("REDIS_URL") or None,
            lock_dir=data_dir,
        )
        service = build_service(
            store,
            registry,
            self._notebooks,
            bus=EventBus(),
            server_id=server_id,
            limits=RunLimits(
                max_concurrent_runs=self.max_concurrent_runs,
                max_concurrent_runs_per_user=self.max_concurrent_runs_per_user,
                max_queued_runs_per_user=self.max_queued_runs_per_user,
            ),
            engine_limits=EngineLimits.of(
                max_state_mb=self.max_state_mb, max_steps=self.max_workflow_steps
            ),
            single_user=self.single_user,
            admin_users=self.admin_entries(),  # hub_traits.py: admin_users + admin_groups
            read_cache_seconds=self.read_cache_seconds,
            run_workers=self.run_workers,
            resource_max_bytes=self.resource_max_bytes,
            ai=ai,
            google=self._google_settings(secret_box),
        )
        scheduling = self.run_scheduler if self.run_scheduler is not None else self.role != "client"
        if scheduling:
            self._scheduler = build_scheduler(
                service,
                db_url=self._db_url,
                server_id=server_id,
                redis_url=self.redis_url or os.environ.get("REDIS_URL") or None,
                lock_dir=data_dir,
                settings=SchedulerSettings(
                    poll_seconds=self.scheduler_poll_seconds,
                    lock_check_seconds=self.scheduler_lock_check_seconds,
                    misfire_threshold_seconds=self.scheduler_misfire_threshold_seconds,
                ),
            )
        hub = build_hub(service, redis_url=self.redis_url, db_url=self._db_url, server_id=server_id)
        accounts = self._build_accounts(store, account_config, service.identities)
        self.settings["workscript"] = {
            "role": self.role,
            "registry": registry,
            "node_count": len(registry),
            "max_request_body_mb": self.max_request_body_mb,
            "max_webhook_body_mb": self.max_webhook_body_mb,
            "run_wait_max_seconds": self.run_wait_max_seconds,
            "engine": self._engine,
            "store": store,
            **handler_settings(service),
            "kernel_pool": self._pool,
            "scheduler": self._scheduler,
            "plugins": self._plugins,
            **accounts,
            SECRET_BOX_SETTING: secret_box,
        }
        if hub is not None:
            from .websocket import HUB_SETTING

            self.settings["workscript"]["hub"] = hub
            self.settings["workscript"][HUB_SETTING] = hub  # where EventSocketHandler looks

    def _secret_box(self, data_dir: str | None) -> Any:
        """The SecretBox of secret_key (None on a shared server without one); a bad key stops
        the server like a bad JWT secret does."""
        from .secret_traits import resolve_secret_box

        return built_or_stop(
            self.log,
            lambda: resolve_secret_box(
                self.secret_key, role=self.role, data_dir=data_dir, log=self.log
            ),
        )

    def _account_config(self, data_dir: str | None) -> tuple[Any, Any, Any]:
        """The accounts' settings, secrets and mail settings, checked before anything opens: a
        bad secret or limit stops the whole server (SystemExit) with the setting's name, since
        a Jupyter server that went on without the extension would look healthy and serve
        nothing of it."""
        from .composition_accounts import account_config

        return built_or_stop(
            self.log,
            lambda: account_config(self, role=self.role, data_dir=data_dir, log=self.log),
        )

    def _build_accounts(
        self, store: Any, config: tuple[Any, Any, Any], identities: Any
    ) -> dict[str, Any]:
        """The accounts layer (composition_accounts.py) and the identity order of /workscript/*."""
        from .composition_accounts import build_accounts
        from .credentials import WorkscriptIdentity

        settings, secrets, mail = config
        serverapp = getattr(self, "serverapp", None)
        parts = build_accounts(
            store,
            settings=settings,
            secrets=secrets,
            jwt_access_expiry=self.jwt_access_expiry,
            jwt_refresh_expiry=self.jwt_refresh_expiry,
            redis_url=self.redis_url or os.environ.get("REDIS_URL") or None,
            mail=mail,
            public_url=self.public_url or str(getattr(serverapp, "connection_url", "") or "/"),
            log=self.log,
            on_user_changed=identities.forget_user_id,
            owner_external_id=identities.owner_username if identities.single_user else None,
        )
        self._account_closers = parts.closers
        if serverapp is not None:
            parts.settings["identity"] = WorkscriptIdentity(
                serverapp.identity_provider,
                parts.settings["authenticator"],
                session_secret=secrets.session_secret,
            )
        return parts.settings

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        from ..store.retention import prune_periodically

        extension = self.settings.get("workscript")
        if extension is None or self.role == "client":  # failed (Jupyter logged why), or
            return  # a client: nothing to start
        store = extension["store"]
        self._pruner = asyncio.create_task(
            prune_periodically(
                store,
                interval_seconds=self.prune_interval_seconds,
                retention_days=self.execution_retention_days,
                max_per_workflow=self.max_executions_per_workflow,
            ),
            name="workscript-prune",
        )
        if self._pool is not None and not self._pool.closed:
            await self._pool.start()  # fills in the background
        if not self._service_started:
            await extension["service"].start()
            self._service_started = True
        hub = extension.get("hub")
        if hub is not None and not self._hub_started:
            await hub.start()
            self._hub_started = True
        if self._scheduler is not None:
            await self._scheduler.start()
        if self._plugins is not None:
            await self._plugins.start()  # on_start hooks, after the service: bounded, logged
        if self.role == "service" and os.environ.get("JUPYTERHUB_SERVICE_NAME"):
            from .hub_service import stop_on_sigint

            stop_on_sigint(serverapp)  # a service the hub started (and will stop)

    async def stop_extension(self) -> None:
        extension = self.settings.get("workscript", {})
        from .client_role import close_client

        await close_client(extension, self.owner_servers_client)  # forwarder, owner servers
        if self._plugins is not None:
            await self._plugins.stop()  # on_stop hooks, while the service still runs
        if self._scheduler is not None:
            await self._scheduler.stop()  # no new fires while the runs are being stopped
        if self._service_started:
            self._service_started = False
            await extension["service"].stop()
        if self._hub_started:
            self._hub_started = False
            await extension["hub"].stop()
        if self._notebooks is not None:
            await self._notebooks.close()  # the python nodes' kernels of runs cut short
        if self._pool is not None:
            await self._pool.stop()  # every pooled and handed-out kernel
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
            self._pruner = None
        for close in self._account_closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        self._account_closers = []
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def initialize_handlers(self) -> None:
        from .handlers.plugins import with_plugin_routes

        if self.role == "client":
            from .client_role import client_routes
            from .handlers.owner_runs import owner_run_routes

            self.handlers.extend(client_routes(owner_run_routes()))
            return
        self.handlers.extend(with_plugin_routes(routes(), self._plugins))
