"""Finding the installed plugins: the entry point group ``workscript_jupyter.plugins``.

Each entry point is loaded on its own: whatever it raises (an import error, a bad value, a
name taken by another plugin) is logged with its name and kept as a ``failed`` record, which
``GET /workscript/plugins`` lists, and the next one is loaded. A broken plugin never stops the
server or the ``workscript`` command.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any, Final

from ..errors import ConfigurationError
from .model import NAME_PATTERN, Plugin, check_plugin, public_message, table_prefix
from .records import PluginRecord

__all__ = ["MAX_PLUGINS", "PLUGIN_GROUP", "installed_entry_points", "load_plugins"]

PLUGIN_GROUP: Final = "workscript_jupyter.plugins"
MAX_PLUGINS: Final = 100  # more than this many entry points is a broken environment

log = logging.getLogger("workscript.plugins")


def installed_entry_points(group: str = PLUGIN_GROUP) -> list[Any]:
    """The entry points of ``group``, in a stable order (by name, then distribution)."""
    from importlib.metadata import entry_points

    found = list(entry_points(group=group))
    return sorted(found, key=lambda ep: (ep.name, _distribution(ep)[0]))


def load_plugins(
    entry_points: Iterable[Any] | None = None,
    *,
    disabled: Collection[str] = (),
    logger: logging.Logger = log,
) -> list[PluginRecord]:
    """A record per entry point: ``loaded`` with its ``Plugin``, or ``failed`` with why.

    ``disabled``: plugin names not to load at all (``c.WorkscriptApp.disabled_plugins``).
    Two plugins whose names differ only by ``-`` and ``_`` share a table prefix: the second
    one found fails, as a plain duplicate does.
    """
    found = installed_entry_points() if entry_points is None else list(entry_points)
    records: list[PluginRecord] = []
    taken: dict[str, str] = {}  # table prefix -> the plugin's name
    for index, ep in enumerate(found):
        if index >= MAX_PLUGINS:
            logger.warning("workscript: only the first %d plugins are loaded", MAX_PLUGINS)
            break
        name = str(ep.name)
        if name in disabled:
            logger.info("workscript: plugin %s is disabled (disabled_plugins)", name)
            continue
        dist_name, dist_version = _distribution(ep)
        record = PluginRecord(name=name, version=dist_version, distribution=dist_name)
        records.append(record)
        try:
            plugin = _load(ep)
            prefix = table_prefix(plugin.name)
            if prefix in taken:
                raise ConfigurationError(
                    f"a plugin named {taken[prefix]!r} is already loaded: plugin "
                    f"{plugin.name!r} of {dist_name or 'an unknown distribution'} is skipped"
                )
            taken[prefix] = plugin.name
        except Exception as error:  # a broken plugin is reported, not fatal
            record.fail(public_message(error))
            logger.warning(
                "workscript: plugin %s (%s) could not be loaded: %s",
                name,
                getattr(ep, "value", "?"),
                error,
                exc_info=not isinstance(error, ConfigurationError),
            )
            continue
        record.plugin = plugin
        record.version = plugin.version or dist_version
        logger.info("workscript: plugin %s %s loaded", name, record.version)
    return records


def _load(ep: Any) -> Plugin:
    name = str(ep.name)
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(
            f"plugin name {name!r} must match {NAME_PATTERN.pattern} "
            "(lower-case letters, digits, - and _, at most 40)"
        )
    target = ep.load()
    if not isinstance(target, Plugin) and callable(target) and not isinstance(target, type):
        target = target()  # a factory: the plugin is built when loaded
    return check_plugin(target, entry_point=name)


def _distribution(ep: Any) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "", ""
    return str(dist.name or ""), str(dist.version or "")
