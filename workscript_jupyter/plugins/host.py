"""``PluginHost``: the installed plugins of one process, and what is done with them.

The composition root (the server, ``workscript db upgrade``) builds one from ``load_plugins`` and
asks it, in order, to migrate the plugins' tables, register their nodes, start them, check their
health and stop them. Each step is done plugin by plugin: what one plugin raises marks that one
``failed`` (nothing of it is used any more) or ``degraded`` (a hook), is logged with its name,
and the others go on. Hooks and health checks are bounded by timeouts, so a plugin that hangs
cannot hold the server's start, stop or health answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from itertools import islice
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from ..errors import ConfigurationError
from .model import PluginContext, masked, public_message, table_prefix
from .records import PluginRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..engine import NodeRegistry

__all__ = [
    "HEALTH_STATUSES",
    "HEALTH_TIMEOUT",
    "HOOK_TIMEOUT",
    "PluginHost",
    "register_plugin_nodes",
    "version_table",
]

HOOK_TIMEOUT: Final = 10.0
HEALTH_TIMEOUT: Final = 2.0
HEALTH_STATUSES: Final = ("ok", "degraded", "down")
_MAX_FIGURES: Final = 10  # small figures a health check may add to its status
_MAX_FIGURE_TEXT: Final = 200

log = logging.getLogger("workscript.plugins")


def version_table(name: str) -> str:
    """Where a plugin's migrations keep its revision: ``plugin_<name>_alembic_version``."""
    return f"{table_prefix(name)}alembic_version"


def register_plugin_nodes(
    registry: NodeRegistry, *, disabled: Collection[str] = (), logger: logging.Logger = log
) -> PluginHost:
    """The installed plugins' nodes in ``registry``, for a process that runs workflows without
    the server (``workscript worker``, a kernel, the ``workscript`` command)."""
    from .loader import load_plugins

    host = PluginHost(load_plugins(disabled=disabled, logger=logger), logger=logger)
    host.register_nodes(registry)
    return host


class PluginHost:
    def __init__(
        self,
        records: list[PluginRecord],
        *,
        engine: Engine | None = None,
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        hook_timeout: float = HOOK_TIMEOUT,
        health_timeout: float = HEALTH_TIMEOUT,
        logger: logging.Logger = log,
    ) -> None:
        self.records = records
        self.engine = engine
        self.hook_timeout = hook_timeout
        self.health_timeout = health_timeout
        self.log = logger
        for record in records:
            own = (settings or {}).get(record.name) or {}
            record.context = PluginContext(
                name=record.name,
                settings=MappingProxyType(dict(own)),
                engine=engine,
                log=logging.getLogger(f"workscript.plugins.{record.name}"),
            )

    def usable(self) -> list[PluginRecord]:
        return [record for record in self.records if record.usable]

    def fail(self, record: PluginRecord, step: str, error: BaseException) -> None:
        """Mark ``record`` failed at ``step`` and log it (the traceback unless it is ours)."""
        record.fail(public_message(error))
        self.log.warning(
            "workscript: plugin %s is skipped: %s failed: %s",
            record.name,
            step,
            error,
            exc_info=not isinstance(error, ConfigurationError),
        )

    # -- set-up (blocking: at start, or in the `workscript db` command) --------------------

    def migrate(self, engine: Engine | None = None) -> None:
        """Upgrade each plugin's tables to its newest revision(s) (``store.migrate``)."""
        from ..store import migrate

        target = engine if engine is not None else self.engine
        if target is None:
            return
        for record in self.usable():
            path = record.plugin.migrations_path if record.plugin is not None else None
            if path is None:
                continue
            try:
                record.migration = migrate.upgrade_branch(
                    target, path, version_table=version_table(record.name)
                )
            except Exception as error:  # noqa: BLE001 - the plugin's scripts: anything can happen
                self.fail(record, "its migration", error)

    def check_migrated(self) -> None:
        """Without ``auto_migrate``: fail each plugin whose tables are not at its newest
        revision(s), rather than let its routes meet missing tables."""
        from ..store import migrate

        if self.engine is None:
            return
        for record in self.usable():
            path = record.plugin.migrations_path if record.plugin is not None else None
            if path is None:
                continue
            try:
                table = version_table(record.name)
                found = migrate.branch_current(self.engine, version_table=table)
                if set(found) != set(migrate.branch_heads(path)):
                    raise ConfigurationError(
                        f"its tables are at {', '.join(found) or 'base'}, not its newest "
                        "revision: run `workscript db upgrade`"
                    )
            except Exception as error:  # noqa: BLE001 - the plugin's scripts are read here
                self.fail(record, "checking its tables", error)
                continue
            record.migration = found

    def register_nodes(self, registry: NodeRegistry) -> None:
        """Register each plugin's nodes; a plugin whose node id is taken registers none."""
        for record in self.usable():
            assert record.plugin is not None
            try:
                ids = [node.metadata.id for node in record.plugin.nodes]
                taken = [node_id for node_id in ids if node_id in registry]
                duplicated = {node_id for node_id in ids if ids.count(node_id) > 1}
                if taken or duplicated:
                    raise ConfigurationError(
                        f"node id(s) {sorted({*taken, *duplicated})} already registered"
                    )
                for node in record.plugin.nodes:
                    registry.register(node)
            except Exception as error:  # noqa: BLE001 - a node class's metadata is the plugin's
                self.fail(record, "registering its nodes", error)
                continue
            record.nodes = ids

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Each plugin's ``on_start``, one after the other; a failure degrades that plugin."""
        for record in self.usable():
            record.started = True
            hook = record.plugin.on_start if record.plugin is not None else None
            if hook is not None:
                await self._hook(record, "on_start", hook)

    async def stop(self) -> None:
        """Each started plugin's ``on_stop``, in reverse order."""
        for record in reversed(self.records):
            if not record.started:
                continue
            record.started = False
            hook = record.plugin.on_stop if record.plugin is not None else None
            if hook is not None and record.status != "failed":
                await self._hook(record, "on_stop", hook)

    async def _hook(
        self, record: PluginRecord, name: str, hook: Callable[[PluginContext], Awaitable[None]]
    ) -> None:
        assert record.context is not None
        try:
            await asyncio.wait_for(hook(record.context), self.hook_timeout)
        except TimeoutError:
            record.degrade(f"{name} did not finish in {self.hook_timeout:g} s")
            self.log.warning("workscript: plugin %s: %s", record.name, record.error)
        except Exception as error:  # the plugin's code: logged, the server goes on
            record.degrade(f"{name} failed: {public_message(error)}")
            self.log.warning("workscript: plugin %s: %s failed", record.name, name, exc_info=error)

    # -- health -----------------------------------------------------------------------------

    async def health(self) -> list[dict[str, Any]]:
        """Every plugin's ``{"name", "status": ok|degraded|down, "reason"?, ...}``; the checks
        run together, each within ``health_timeout``."""
        return list(await asyncio.gather(*(self._health(r) for r in self.records)))

    async def _health(self, record: PluginRecord) -> dict[str, Any]:
        if not record.usable:
            return {"name": record.name, "status": "down", "reason": record.error or "failed"}
        base: dict[str, Any] = {"name": record.name, "status": "ok"}
        if record.status == "degraded":
            base.update(status="degraded", reason=record.error)
        check = record.plugin.health if record.plugin is not None else None
        if check is None or record.context is None:
            return base
        try:
            answer = await asyncio.wait_for(check(record.context), self.health_timeout)
        except TimeoutError:
            return {**base, "status": "down", "reason": f"no answer in {self.health_timeout:g} s"}
        except Exception as error:  # noqa: BLE001 - the plugin's check failing is its answer
            return {**base, "status": "down", "reason": public_message(error)}
        checked = _checked_answer(answer)
        worst = max(base["status"], checked["status"], key=HEALTH_STATUSES.index)
        return {**base, **checked, "name": record.name, "status": worst}


def _checked_answer(answer: object) -> dict[str, Any]:
    """A plugin's health answer, bounded: a known status, a short reason and a few scalar
    figures; anything else makes it ``down`` with what was wrong."""
    if not isinstance(answer, Mapping):
        return {"status": "down", "reason": "the health check did not return a mapping"}
    status = answer.get("status")
    if status not in HEALTH_STATUSES:
        return {"status": "down", "reason": f"the health check returned status {status!r}"}
    out: dict[str, Any] = {"status": status}
    for key, value in islice(answer.items(), _MAX_FIGURES * 2):  # a huge mapping: not all read
        if len(out) > _MAX_FIGURES:  # status and ten figures
            break
        if key in ("status", "name") or not isinstance(key, str) or len(key) > 64:
            continue
        if isinstance(value, str):  # shown to every signed-in user: no credentials
            out[key] = masked(value[: _MAX_FIGURE_TEXT * 2])[:_MAX_FIGURE_TEXT]
        elif value is None or isinstance(value, bool | int) or _finite(value):
            out[key] = value
    return out


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)
