"""``WorkscriptApp``: the server extension and composition root.

It grows with the issues that add the service layer and the scheduler; for now it owns the node
registry, the store's database (engine, migrations at start, ``SqlStore``) and serves the health
endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Integer, Unicode

from .._version import __version__
from ..nodes import builtin_registry
from .handlers import HealthHandler

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["WorkscriptApp"]


class WorkscriptApp(ExtensionApp):
    name = "workscript"
    description = "Workflow automation for Jupyter: engine, REST API and scheduler."
    version = __version__
    load_other_extensions = True
    _engine: Engine | None = None
    _pruner: asyncio.Task[None] | None = None

    role = Unicode(
        "local",
        help=(
            "local: a single-user server that runs and schedules its own workflows; "
            "client: a JupyterHub user server that delegates scheduling to a shared service; "
            "service: the shared server that owns the schedules."
        ),
    ).tag(config=True)

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

    def initialize_settings(self) -> None:
        if self.role not in ("local", "client", "service"):
            raise ValueError(
                f"WorkscriptApp.role must be local, client or service, not {self.role!r}"
            )
        registry = builtin_registry()
        self.settings["workscript"] = {
            "role": self.role,
            "registry": registry,
            "node_count": len(registry),
            **self._open_store(),
        }

    def _open_store(self) -> dict[str, Any]:
        """The engine (migrated unless ``auto_migrate`` is off) and the store on it.

        A database that cannot be reached or migrated stops the extension with the masked URL
        in the log, rather than serving requests that would all fail.
        """
        from ..errors import WorkscriptError
        from ..store import migrate
        from ..store.connection import create_store_engine, mask_url, resolve_db_url

        data_dir = getattr(self.serverapp, "data_dir", None) or None
        url = resolve_db_url(self.db_url, data_dir=data_dir)
        self.log.info("workscript: database %s", mask_url(url))
        engine = create_store_engine(url)
        self._engine = engine
        try:
            if self.auto_migrate:
                migrate.upgrade(engine)
        except WorkscriptError as error:
            self.log.error("workscript: %s", error.message)
            engine.dispose()
            self._engine = None
            raise
        from ..store.sql import SqlStore

        return {"engine": engine, "store": SqlStore(engine)}

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        from ..store.retention import prune_periodically

        store = self.settings["workscript"]["store"]
        self._pruner = asyncio.create_task(
            prune_periodically(
                store,
                interval_seconds=self.prune_interval_seconds,
                retention_days=self.execution_retention_days,
                max_per_workflow=self.max_executions_per_workflow,
            ),
            name="workscript-prune",
        )

    async def stop_extension(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
            self._pruner = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def initialize_handlers(self) -> None:
        self.handlers.extend([(r"/workscript/health", HealthHandler)])
