"""workscript-jupyter: workflow automation inside Jupyter.

The package is laid out in layers (see docs/architecture.md): ``errors`` ← ``engine`` ← ``nodes``
← ... ← ``server`` / ``kernel`` / ``cli``. Importing the package itself stays cheap: the server
extension is found through ``_jupyter_server_extension_points`` and imported only by Jupyter.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension", "output", "unload_ipython_extension"]


def __getattr__(name: str) -> Any:
    # ``from workscript_jupyter import output`` inside a kernel: loaded on first use, and it
    # imports nothing heavy (workscript_jupyter/output.py).
    if name == "output":
        from .output import output

        return output
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import WorkscriptApp

    return [{"module": "workscript_jupyter.server.app", "app": WorkscriptApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # the npm name, identical in labextension/package.json and pyproject.toml's shared-data
    return [{"src": "labextension", "dest": "workscript-jupyter-labextension"}]


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext workscript_jupyter``: the %%workflow and %workscript magics."""
    from .kernel import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    from .kernel import unload_ipython_extension as unload

    unload(shell)
