"""HTTP handlers. Every verb is ``@web.authenticated`` and ``@authorized``: a test checks it."""

from __future__ import annotations

import json
import platform

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .._version import __version__

__all__ = ["HealthHandler"]


class HealthHandler(APIHandler):
    """``GET /workscript/health``: the extension is loaded and answering."""

    auth_resource = "workscript:health"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        extension = self.settings.get("workscript", {})
        self.finish(
            json.dumps(
                {
                    "status": "ok",
                    "version": __version__,
                    "python": platform.python_version(),
                    "role": extension.get("role", "local"),
                    "nodes": extension.get("node_count", 0),
                }
            )
        )
