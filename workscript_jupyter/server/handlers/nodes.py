"""``GET /workscript/nodes``: the node catalogue with metadata and examples."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base import WorkscriptHandler

__all__ = ["NodesHandler"]


class NodesHandler(WorkscriptHandler):
    auth_resource = "workscript:nodes"
    permissions = {"GET": None}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"nodes": self.workflows.catalogue()})
