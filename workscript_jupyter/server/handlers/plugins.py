"""Plugins on the server: their routes, their handlers' base, ``GET /workscript/plugins``.

- ``open_plugins`` (called by ``WorkscriptApp.initialize_settings``): load the installed plugins,
  refuse the routes that would not be guarded like ours, migrate the plugins' tables (with
  ``auto_migrate``) and register their nodes. What fails marks that plugin ``failed``; the
  server starts all the same.
- ``PluginHandler``: the base of every plugin route handler — a ``WorkscriptHandler``, so it is
  authenticated, authorized (``auth_resource``) and permission-checked (``permissions``, per
  verb) like every route, with ``self.plugin``, the plugin's ``PluginContext``.
- ``with_plugin_routes``: the route table with each plugin's routes mounted under
  ``/workscript/plugins/<name>/``, ahead of the API's catch-all 404.
- ``PluginsHandler``: ``GET /workscript/plugins``, every installed plugin and its health.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Final

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...auth.permissions import ALL_PERMISSIONS
from ...errors import ConfigurationError
from ...plugins import PluginContext, PluginHost, PluginRecord, load_plugins
from ..base import WorkscriptHandler
from .health import NotFoundHandler

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ...engine import NodeRegistry

__all__ = [
    "MOUNT",
    "ROUTES",
    "PluginHandler",
    "PluginsHandler",
    "check_routes",
    "open_plugins",
    "plugin_routes",
    "with_plugin_routes",
]

MOUNT: Final = "/workscript/plugins/{name}/"
VERBS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE")


class PluginHandler(WorkscriptHandler):
    """Base of a plugin's route handlers. Declare ``permissions`` for every verb (None: any
    signed-in caller, or a permission string such as ``"workflow:read"``) and decorate each
    verb ``@web.authenticated`` then ``@authorized``, as every workscript handler is; a handler
    that does not is refused when the server starts."""

    auth_resource = "workscript:plugins"
    plugin: PluginContext

    def initialize(self, plugin: PluginContext) -> None:
        super().initialize()
        self.plugin = plugin


class PluginsHandler(WorkscriptHandler):
    """``GET /workscript/plugins``: name, version, status (loaded, degraded, failed), error,
    nodes, routes, migration revisions and health of every installed plugin."""

    auth_resource = "workscript:plugins"
    permissions = {"GET": None}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        host: PluginHost | None = self.workscript.get("plugins")
        if host is None:
            self.write_json({"plugins": []})
            return
        health = await host.health()
        listed = [
            {**record.describe(), "health": check}
            for record, check in zip(host.records, health, strict=True)
        ]
        self.write_json({"plugins": listed})


ROUTES: list[tuple[str, Any]] = [(r"/workscript/plugins", PluginsHandler)]


# -- start-up ---------------------------------------------------------------------------------


def open_plugins(
    registry: NodeRegistry,
    engine: Engine | None,
    *,
    auto_migrate: bool,
    settings: Mapping[str, Mapping[str, Any]],
    disabled: Collection[str],
    log: logging.Logger,
) -> PluginHost:
    """The installed plugins, checked, migrated (``auto_migrate``) and their nodes registered."""
    host = PluginHost(
        load_plugins(disabled=disabled, logger=log), engine=engine, settings=settings, logger=log
    )
    check_routes(host)
    if auto_migrate:
        host.migrate()
    else:
        host.check_migrated()  # `workscript db upgrade` is the deployment's job then
    host.register_nodes(registry)
    usable = [f"{r.name} {r.version}".strip() for r in host.usable()]
    failed = [r.name for r in host.records if not r.usable]
    if host.records:
        log.info("workscript: plugins %s; failed: %s", usable or "none", failed or "none")
    return host


def check_routes(host: PluginHost) -> None:
    """Refuse (mark failed) each plugin with a route whose handler would not be guarded as
    ours are; the others get their mounted paths listed."""
    for record in host.usable():
        assert record.plugin is not None
        try:
            paths = []
            for pattern, handler in record.plugin.routes:
                _check_handler(handler, where=f"route {pattern!r}")
                paths.append(MOUNT.format(name=record.name) + pattern)
        except Exception as error:  # noqa: BLE001 - a plugin's class attributes can be anything
            host.fail(record, "checking its routes", error)
            continue
        record.routes = paths


def _check_handler(handler: type, *, where: str) -> None:
    name = getattr(handler, "__name__", repr(handler))
    if not issubclass(handler, PluginHandler):
        raise ConfigurationError(
            f"{where}: {name} must subclass "
            "workscript_jupyter.server.handlers.plugins.PluginHandler"
        )
    if not str(handler.auth_resource).startswith("workscript:"):
        raise ConfigurationError(f"{where}: {name}.auth_resource must start with 'workscript:'")
    permissions = handler.permissions
    if not isinstance(permissions, dict) or not permissions:
        raise ConfigurationError(f"{where}: {name} declares no permissions")
    for verb, permission in permissions.items():
        known = isinstance(permission, str) and permission in ALL_PERMISSIONS
        if permission is not None and not known:
            raise ConfigurationError(
                f"{where}: {name}.permissions[{verb!r}] is {permission!r}, neither None (any "
                "signed-in caller) nor a workscript permission such as 'workflow:read'"
            )
    for verb in VERBS:
        method = getattr(handler, verb.lower())
        if method is web.RequestHandler._unimplemented_method:
            continue
        if verb not in permissions:
            raise ConfigurationError(f"{where}: {name}.permissions has no entry for {verb}")
        wrappers = _wrappers(method)
        guarded = wrappers[:1] == ["authenticated"] and wrappers[1:2] == ["authorized"]
        if not guarded:
            raise ConfigurationError(
                f"{where}: {name}.{verb.lower()} must be decorated @web.authenticated then "
                "@authorized"
            )


def _wrappers(method: Any) -> list[str]:
    """The names of the decorators around ``method``, outermost first (as Jupyter checks)."""
    names = []
    while hasattr(method, "__wrapped__"):
        qualname = getattr(getattr(method, "__code__", None), "co_qualname", "")
        names.append(qualname.split(".", 1)[0])
        method = method.__wrapped__
    return names


# -- the route table --------------------------------------------------------------------------


def plugin_routes(host: PluginHost | None) -> list[tuple[str, type, dict[str, Any]]]:
    """The tornado routes of every usable plugin. A pattern is wrapped in a group, so that an
    alternation in it (``a|/workscript/...``) cannot reach outside the plugin's prefix."""
    if host is None:
        return []
    table: list[tuple[str, type, dict[str, Any]]] = []
    for record in host.usable():
        table.extend(_routes_of(record))
    return table


def _routes_of(record: PluginRecord) -> list[tuple[str, type, dict[str, Any]]]:
    if record.plugin is None or not record.routes:
        return []
    prefix = re.escape(MOUNT.format(name=record.name))
    return [
        (f"{prefix}(?:{pattern})", handler, {"plugin": record.context})
        for pattern, handler in record.plugin.routes
    ]


def with_plugin_routes(table: list[Any], host: PluginHost | None) -> list[Any]:
    """``table`` with the plugins' routes just before the catch-all 404 (which would otherwise
    answer their paths first)."""
    mounted = plugin_routes(host)
    if not mounted:
        return table
    catch_all = next(
        (i for i, entry in enumerate(table) if entry[1] is NotFoundHandler), len(table)
    )
    return [*table[:catch_all], *mounted, *table[catch_all:]]
