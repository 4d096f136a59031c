"""``GET /workscript/health`` and the JSON 404 of the API."""

from __future__ import annotations

import asyncio
import platform
import threading

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..._version import __version__
from ...errors import RecordNotFoundError, StoreError
from ...service import Caller
from ..base import WorkscriptHandler
from ..health_checks import run_checks

__all__ = ["HealthHandler", "NotFoundHandler"]


class HealthHandler(WorkscriptHandler):
    """``GET /workscript/health``: the store, Redis (when configured), the scheduler and the
    worker pool checked (``health_checks``); 200 when all are well, else 503 with ``status``
    ``degraded`` or ``down`` and the failing checks' ``reason``. No host, URL or secret."""

    auth_resource = "workscript:health"
    permissions = {"GET": None}

    @web.authenticated
    @authorized
    async def get(self) -> None:
        extension = self.settings.get("workscript", {})
        try:
            caller: Caller | None = await self.caller()
        except StoreError:  # the store is down: the checks below say so
            caller = None
        status, checks = await run_checks(extension)
        self.write_json(
            {
                "status": status,
                "checks": checks,
                "version": __version__,
                "python": platform.python_version(),
                "role": extension.get("role", "local"),
                "nodes": extension.get("node_count", 0),
                # to watch for leaks under load (bench/soak.py); no host, path or secret
                "process": {
                    "tasks": len(asyncio.all_tasks()),
                    "threads": threading.active_count(),
                },
                # who the server takes the caller for: clients (the kernel's magics) need it
                "user": None
                if caller is None
                else {
                    "id": caller.user.id,
                    "username": caller.user.username,
                    "admin": caller.is_admin,
                },
            },
            200 if status == "ok" else 503,
        )


class NotFoundHandler(WorkscriptHandler):
    """Any other path under ``/workscript/``: a JSON 404 rather than an HTML page."""

    auth_resource = "workscript:api"
    permissions = {method: None for method in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def _not_found(self) -> None:
        raise RecordNotFoundError("route", self.request.path)

    @web.authenticated
    @authorized
    async def get(self, *_args: str) -> None:
        self._not_found()

    @web.authenticated
    @authorized
    async def post(self, *_args: str) -> None:
        self._not_found()

    @web.authenticated
    @authorized
    async def put(self, *_args: str) -> None:
        self._not_found()

    @web.authenticated
    @authorized
    async def patch(self, *_args: str) -> None:
        self._not_found()

    @web.authenticated
    @authorized
    async def delete(self, *_args: str) -> None:
        self._not_found()
