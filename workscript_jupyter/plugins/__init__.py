"""Plugins: packages that add nodes, routes, tables, hooks and a health check to workscript.

A package advertises a ``Plugin`` under the entry point group ``workscript_jupyter.plugins``::

    [project.entry-points."workscript_jupyter.plugins"]
    example = "workscript_example_plugin:plugin"

``load_plugins`` finds and checks them (``loader.py``), ``PluginHost`` runs their migrations,
registers their nodes, calls their hooks and asks their health (``host.py``). Mounting their
routes is the server's (``server/handlers/plugins.py``), which also gives their handlers a
base class. See docs/plugins.md.
"""

from __future__ import annotations

from .host import HEALTH_TIMEOUT, HOOK_TIMEOUT, PluginHost, register_plugin_nodes, version_table
from .loader import PLUGIN_GROUP, installed_entry_points, load_plugins
from .model import NAME_PATTERN, Plugin, PluginContext, check_plugin, table_prefix
from .records import PluginRecord, PluginStatus

__all__ = [
    "HEALTH_TIMEOUT",
    "HOOK_TIMEOUT",
    "NAME_PATTERN",
    "PLUGIN_GROUP",
    "Plugin",
    "PluginContext",
    "PluginHost",
    "PluginRecord",
    "PluginStatus",
    "check_plugin",
    "installed_entry_points",
    "load_plugins",
    "register_plugin_nodes",
    "table_prefix",
    "version_table",
]
