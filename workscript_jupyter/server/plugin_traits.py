"""The plugins' settings of the server extension: what each plugin is given, which are left out.

A trait group of its own, as the accounts' (account_traits.py) and AI's (ai_traits.py) are:
``WorkscriptApp`` lists it among its bases, and ``workscript settings`` shows its traits.
"""

from __future__ import annotations

from traitlets import Dict, HasTraits, List, Unicode

__all__ = ["PluginTraits"]


class PluginTraits(HasTraits):
    plugin_settings = Dict(
        value_trait=Dict(),
        default_value={},
        help=(
            "Settings for each plugin, by plugin name: what its hooks, health check and "
            "handlers find in their context's settings (docs/plugins.md)."
        ),
    ).tag(config=True)

    disabled_plugins = List(
        Unicode(),
        default_value=[],
        help="Installed plugins (entry point names) not to load: their nodes, routes, tables "
        "and hooks are left out.",
    ).tag(config=True)
