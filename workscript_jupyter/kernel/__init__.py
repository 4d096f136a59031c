"""In the notebook: the ``%%workflow`` and ``%workscript`` magics, run handles, the RunMonitor.

``%load_ext workscript_jupyter`` (or ``c.InteractiveShellApp.extensions``) loads it.
"""

from __future__ import annotations

from typing import Any

from .handle import RunHandle

__all__ = ["RunHandle", "load_ipython_extension", "unload_ipython_extension"]

_loaded: dict[int, Any] = {}


def load_ipython_extension(shell: Any) -> None:
    from ..nodes import builtin_registry
    from .magics import WorkscriptMagics, await_workflow_cells

    if id(shell) in _loaded:
        return
    registry = builtin_registry()
    registry.defer(_plugin_nodes)  # the plugins' nodes, when a workflow first needs one
    magics = WorkscriptMagics(shell, registry)
    shell.register_magics(magics)
    shell.input_transformers_post.append(await_workflow_cells)
    _loaded[id(shell)] = magics


def _plugin_nodes(registry: Any) -> None:
    from ..plugins import register_plugin_nodes

    register_plugin_nodes(registry)


def unload_ipython_extension(shell: Any) -> None:
    from .magics import await_workflow_cells

    magics = _loaded.pop(id(shell), None)
    if magics is None:
        return
    registered = shell.magics_manager.magics
    registered["cell"].pop("workflow", None)
    registered["line"].pop("workscript", None)
    if await_workflow_cells in shell.input_transformers_post:
        shell.input_transformers_post.remove(await_workflow_cells)
