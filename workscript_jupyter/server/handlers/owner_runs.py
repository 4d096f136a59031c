"""The steps the hub's Workscript service runs in a user's own server (client role only).

``POST /workscript/client/notebook-runs`` runs a notebook (a path under this server's root) with
nbclient on a kernel of this server and answers the notebook node's report;
``POST /workscript/client/python-runs`` runs a python step's code in the kernel of its workflow
run (started on first use), ``DELETE /workscript/client/python-runs/<key>`` shuts that kernel
down. The service calls them with its hub token (``access:servers``) when a run of this server's
owner reaches such a step (integrations/jupyterhub.py), so the step has the owner's files,
environment and packages. The owner may call them too: it is their server and their code.

Authentication and authorization are this server's own (the hub's: only its owner and tokens
allowed to access it get in), with Jupyter's ``kernels`` resource and ``execute`` action as a
kernel's WebSocket needs. A refused step answers its error envelope (the code and message the
service raises again), never a 500.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ...errors import NotebookPathError, WorkscriptError
from ...runner.gateway import RunnerGateway
from ...runner.pool import KernelPool

__all__ = [
    "NotebookRunsHandler",
    "OwnerRunKernels",
    "PythonRunHandler",
    "PythonRunsHandler",
    "owner_run_routes",
]

OWNER_RUNS_SETTING = "owner_runs"
_MAX_TIMEOUT = 24 * 3600.0


class OwnerRunKernels:
    """The kernels of the steps run here: a ``RunnerGateway`` on this server's root, with a warm
    pool of ``pool_size`` kernels started at the first step, not before (a user's default server
    that never gets a step holds no extra kernel; the server the service starts for steps keeps
    one ready, so a step does not wait for a kernel to start)."""

    def __init__(self, root_dir: Path, *, pool_size: int = 1) -> None:
        self.root_dir = root_dir
        self.pool_size = pool_size
        self._gateway: RunnerGateway | None = None
        self._pool: KernelPool | None = None
        self._starting = asyncio.Lock()

    async def gateway(self) -> RunnerGateway:
        async with self._starting:
            if self._gateway is None:
                if self.pool_size > 0:
                    self._pool = KernelPool(self.pool_size, cwd=str(self.root_dir))
                    await self._pool.start()  # fills in the background
                self._gateway = RunnerGateway(self.root_dir, self._pool)
            return self._gateway

    async def close_run(self, run_key: str) -> None:
        if self._gateway is not None:  # no step ran here: no kernel to close
            await self._gateway.close_run(run_key)

    async def close(self) -> None:
        if self._gateway is not None:
            await self._gateway.close()
        if self._pool is not None:
            await self._pool.stop()


class _OwnerRunHandler(APIHandler):
    auth_resource = "kernels"

    @property
    def kernels(self) -> OwnerRunKernels:
        return self.settings["workscript"][OWNER_RUNS_SETTING]  # type: ignore[no-any-return]

    def body_object(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            raise web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        return body

    def refuse(self, error: WorkscriptError) -> None:
        self.set_status(400 if isinstance(error, NotebookPathError) else 422)
        self.finish(
            {"error": {"code": error.code, "message": error.message, "details": error.details}}
        )


def _text(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise web.HTTPError(400, f"{name}: expected a non-empty string")
    return value


class NotebookRunsHandler(_OwnerRunHandler):
    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self) -> None:
        body = self.body_object()
        path = _text(body, "path", required=True)
        kernel = _text(body, "kernel", required=False)
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise web.HTTPError(400, "parameters: expected an object")
        timeout = body.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= _MAX_TIMEOUT
        ):
            raise web.HTTPError(400, f"timeout: expected seconds in (0, {_MAX_TIMEOUT:g}]")
        try:
            gateway = await self.kernels.gateway()
            report = await gateway.run_notebook(
                str(path), parameters=parameters, kernel=kernel, timeout=timeout
            )
        except WorkscriptError as error:
            self.refuse(error)
            return
        self.finish(report)


class PythonRunsHandler(_OwnerRunHandler):
    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def post(self) -> None:
        body = self.body_object()
        run_key = _text(body, "runKey", required=True)
        code = body.get("code")
        state = body.get("state")
        if not isinstance(code, str):
            raise web.HTTPError(400, "code: expected a string")
        if not isinstance(state, dict):
            raise web.HTTPError(400, "state: expected an object")
        try:
            gateway = await self.kernels.gateway()
            result = await gateway.run_python(str(run_key), code, state)
        except WorkscriptError as error:
            self.refuse(error)
            return
        self.finish({"state": result})


class PythonRunHandler(_OwnerRunHandler):
    @web.authenticated
    @authorized("execute")  # type: ignore[untyped-decorator]
    async def delete(self, run_key: str) -> None:
        await self.kernels.close_run(run_key)
        self.set_status(204)
        self.finish()


def owner_run_routes() -> list[tuple[str, Any]]:
    return [
        (r"/workscript/client/notebook-runs", NotebookRunsHandler),
        (r"/workscript/client/python-runs", PythonRunsHandler),
        (r"/workscript/client/python-runs/([^/]+)", PythonRunHandler),
    ]
