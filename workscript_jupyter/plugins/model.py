"""What a plugin is: the ``Plugin`` a package advertises, and the ``PluginContext`` it is given.

A package becomes a plugin by naming a ``Plugin`` (or a function returning one) under the entry
point group ``workscript_jupyter.plugins``. The value is checked here before anything of it is
used, so a mistake in a plugin is one clear message naming the plugin and the field, never a
half-registered plugin.

The context is deliberately small: the plugin's own settings, the store's database engine, a
logger and a way to run blocking work off the event loop. A plugin never gets the service, so
it cannot reach other users' records through it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

from ..errors import ConfigurationError
from ..store.aio import run_off_loop

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..engine import Node

__all__ = [
    "MAX_NODES",
    "MAX_ROUTES",
    "NAME_PATTERN",
    "HealthCheck",
    "Hook",
    "Plugin",
    "PluginContext",
    "check_plugin",
    "masked",
    "public_message",
    "table_prefix",
]

# 40 characters: the plugin's version table, plugin_<name>_alembic_version, must stay within
# MySQL's 64-character identifiers
NAME_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_NODES: Final = 100
MAX_ROUTES: Final = 50
MAX_PATTERN_LENGTH: Final = 200
_MESSAGE_LENGTH: Final = 300
_URL_CREDENTIALS: Final = re.compile(r"([A-Za-z][\w+.-]*://[^:/@\s]*):[^@\s]*@")
_SECRET_VALUES: Final = re.compile(
    r"""(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&)'"]+"""
)

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PluginContext:
    """What a plugin's hooks, health check and route handlers get.

    ``settings``: ``c.WorkscriptApp.plugin_settings[<name>]`` (read-only); ``engine``: the
    workscript store's SQLAlchemy engine (None where there is no database), whose blocking calls
    belong in ``run_off_loop``; ``log``: the logger ``workscript.plugins.<name>``.
    """

    name: str
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    engine: Engine | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("workscript.plugins"))

    @property
    def table_prefix(self) -> str:
        """The prefix of this plugin's tables: ``plugin_<name>_`` (dashes as underscores)."""
        return table_prefix(self.name)

    async def run_off_loop(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run a blocking call (a query) in a store thread, never on the event loop."""
        return await run_off_loop(fn, *args, **kwargs)


Hook = Callable[[PluginContext], Awaitable[None]]
"""``on_start`` / ``on_stop``: awaited once each, bounded by a timeout."""

HealthCheck = Callable[[PluginContext], Awaitable[Mapping[str, Any]]]
"""Returns ``{"status": "ok" | "degraded" | "down", "reason"?: str, ...small figures}``."""


@dataclass(frozen=True, slots=True)
class Plugin:
    """One plugin: what it adds to workscript.

    - ``nodes``: node classes, registered like the built-ins (their ids must be new);
    - ``routes``: ``(pattern, handler class)`` pairs mounted under
      ``/workscript/plugins/<name>/``; each handler subclasses the server's ``PluginHandler``
      and declares the permission of each verb (checked when the server starts);
    - ``migrations``: a folder of Alembic revision scripts, the plugin's own history, kept in
      its own version table and run by ``workscript db upgrade`` and the server's
      ``auto_migrate``; its tables are named ``plugin_<name>_...``;
    - ``on_start`` / ``on_stop``: async hooks run after the server's service starts and before
      it stops;
    - ``health``: an async check shown by ``/workscript/health`` and ``/workscript/plugins``.
    """

    name: str
    version: str = ""
    nodes: tuple[type[Node], ...] = ()
    routes: tuple[tuple[str, type], ...] = ()
    migrations: Path | str | None = None
    on_start: Hook | None = None
    on_stop: Hook | None = None
    health: HealthCheck | None = None
    description: str = ""

    def __post_init__(self) -> None:
        # lists are accepted and kept as tuples: the value is frozen, as its fields
        for name in ("nodes", "routes"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))

    @property
    def migrations_path(self) -> Path | None:
        return Path(self.migrations) if self.migrations is not None else None


def table_prefix(name: str) -> str:
    return f"plugin_{name.replace('-', '_')}_"


def check_plugin(plugin: object, *, entry_point: str) -> Plugin:
    """``plugin`` if it is a well-formed ``Plugin`` named like its entry point, else a
    ConfigurationError saying what is wrong (the handler classes are the server's to check)."""
    if not isinstance(plugin, Plugin):
        raise ConfigurationError(
            f"the entry point {entry_point!r} must name a workscript_jupyter.plugins.Plugin "
            f"(or a function returning one), not {type(plugin).__name__}"
        )
    if not isinstance(plugin.name, str) or not NAME_PATTERN.fullmatch(plugin.name):
        raise ConfigurationError(
            f"plugin name {plugin.name!r} must match {NAME_PATTERN.pattern} "
            "(lower-case letters, digits, - and _, at most 40)"
        )
    if plugin.name != entry_point:
        raise ConfigurationError(
            f"plugin {plugin.name!r} is advertised under the entry point name {entry_point!r}: "
            "the two must be the same"
        )
    if not isinstance(plugin.version, str) or len(plugin.version) > 64:
        raise ConfigurationError(f"plugin {plugin.name}: version must be a short string")
    if not isinstance(plugin.description, str) or len(plugin.description) > 500:
        raise ConfigurationError(
            f"plugin {plugin.name}: description must be a string of at most 500 characters"
        )
    _check_nodes(plugin)
    _check_routes(plugin)
    _check_callables(plugin)
    path = plugin.migrations_path
    if path is not None and not path.is_dir():
        raise ConfigurationError(f"plugin {plugin.name}: migrations folder {path} does not exist")
    return plugin


def _check_nodes(plugin: Plugin) -> None:
    from ..engine.node import Node

    if not isinstance(plugin.nodes, tuple) or len(plugin.nodes) > MAX_NODES:
        raise ConfigurationError(
            f"plugin {plugin.name}: nodes must be a tuple of at most {MAX_NODES} node classes"
        )
    for index, node in enumerate(plugin.nodes):
        if not (isinstance(node, type) and issubclass(node, Node)):
            raise ConfigurationError(f"plugin {plugin.name}: nodes[{index}] is not a Node class")


def _check_routes(plugin: Plugin) -> None:
    if not isinstance(plugin.routes, tuple) or len(plugin.routes) > MAX_ROUTES:
        raise ConfigurationError(
            f"plugin {plugin.name}: routes must be a tuple of at most {MAX_ROUTES} "
            "(pattern, handler class) pairs"
        )
    for index, route in enumerate(plugin.routes):
        where = f"plugin {plugin.name}: routes[{index}]"
        if not (isinstance(route, tuple) and len(route) == 2 and isinstance(route[1], type)):
            raise ConfigurationError(f"{where} must be a (pattern, handler class) pair")
        pattern = route[0]
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_LENGTH:
            raise ConfigurationError(
                f"{where}: the pattern must be a string of at most {MAX_PATTERN_LENGTH} characters"
            )
        if pattern.startswith(("/", "^")) or pattern.endswith("$"):
            raise ConfigurationError(
                f"{where}: {pattern!r} is relative to /workscript/plugins/{plugin.name}/ "
                "(no leading / or ^, no trailing $)"
            )
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigurationError(
                f"{where}: {pattern!r} is not a regular expression: {error}"
            ) from None


def _check_callables(plugin: Plugin) -> None:
    for name in ("on_start", "on_stop", "health"):
        value = getattr(plugin, name)
        if value is not None and not callable(value):
            raise ConfigurationError(f"plugin {plugin.name}: {name} must be an async function")


def masked(text: str) -> str:
    """``text`` with URL passwords and ``password=...``-like values replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(r"\1:***@", text)
    return _SECRET_VALUES.sub(r"\1\2***", text)


def public_message(error: BaseException) -> str:
    """An exception as the API may show it: its type and first line, URL passwords and
    ``password=...``-like values masked, at most 300 characters."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = masked(text)
    message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if isinstance(error, ConfigurationError):
        message = text
    if len(message) > _MESSAGE_LENGTH:
        message = message[: _MESSAGE_LENGTH - 1] + "…"
    return message
