"""``WorkscriptApp``: the server extension and composition root.

It grows with the issues that add storage, the service layer and the scheduler; for now it owns
the node registry and serves the health endpoint.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode

from .._version import __version__
from ..nodes import builtin_registry
from .handlers import HealthHandler

__all__ = ["WorkscriptApp"]


class WorkscriptApp(ExtensionApp):
    name = "workscript"
    description = "Workflow automation for Jupyter: engine, REST API and scheduler."
    version = __version__
    load_other_extensions = True

    role = Unicode(
        "local",
        help=(
            "local: a single-user server that runs and schedules its own workflows; "
            "client: a JupyterHub user server that delegates scheduling to a shared service; "
            "service: the shared server that owns the schedules."
        ),
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
        }

    def initialize_handlers(self) -> None:
        self.handlers.extend([(r"/workscript/health", HealthHandler)])
