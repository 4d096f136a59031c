"""Notebook and python steps of a hub user, run in that user's own server.

On a hub, the Workscript service holds the schedules, but a scheduled notebook of alice must run
with alice's files, environment and packages, never as the service. ``OwnerServers`` asks the
hub (its REST API, with the service's token and the ``servers`` scope) to start alice's named
server ``workscript`` when it is not running, waits until the hub says it is ready, and sends the
step to that server, where the Workscript extension runs in its client role and executes it with
nbclient on a kernel of that server (server/handlers/owner_runs.py). The hub's idle culler stops
the server afterwards.

``OwnerNotebooks`` is one user's ``NotebookGateway`` (engine/services.py) over it: the notebook
and python nodes use it as they use local kernels. Everything that goes wrong (no such hub user,
a server the hub cannot start, a server without the extension, a step cut off) raises a
``NotebookError`` naming the user and the server, which the node turns into its error edge: the
run fails and the automation's retry policy applies.

Why the step runs inside the user's server rather than over a remote kernel connection from the
service: jupyter_server's gateway client (runner/remote_kernels.py) is one per process, pointed
at one gateway, and a service serves every user of the hub at once; running nbclient beside the
kernel also keeps the notebook's own folder as its working directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import NotebookError, OwnerServerError

__all__ = ["HubSettings", "OwnerNotebooks", "OwnerServerError", "OwnerServers"]

#: the client role's endpoints in the user's server
NOTEBOOK_RUNS = "workscript/client/notebook-runs"
PYTHON_RUNS = "workscript/client/python-runs"
_MAX_REPLY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HubSettings:
    """How the service reaches the hub and the users' servers."""

    api_url: str  # the hub's REST API (JUPYTERHUB_API_URL)
    api_token: str = field(repr=False)  # the service's token (JUPYTERHUB_API_TOKEN)
    proxy_url: str  # where users' servers are reached (the proxy: WORKSCRIPT_HUB_URL)
    server_name: str = "workscript"
    spawn_timeout: float = 120.0
    poll_seconds: float = 0.5
    step_timeout: float = 3600.0  # a step without a timeout of its own may take this long


class OwnerServers:
    """Starts users' named servers through the hub and sends steps to them."""

    def __init__(self, settings: HubSettings, *, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._client = client
        self._starting: dict[str, asyncio.Lock] = {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"Authorization": f"token {self.settings.api_token}"},
                timeout=httpx.Timeout(30.0),
                follow_redirects=False,
                # a step holds its connection for as long as it runs: the runs' own limits
                # (max_concurrent_runs) bound them, not a pool that would make them wait
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _where(self, user: str) -> str:
        return f"{user}'s server {self.settings.server_name!r}"

    async def _server_model(self, user: str) -> dict[str, Any] | None:
        """The hub's model of the user's named server (None: not running, nor starting)."""
        url = f"{self.settings.api_url.rstrip('/')}/users/{quote(user, safe='')}"
        try:
            reply = await self.client.get(url)
        except httpx.HTTPError as error:
            raise OwnerServerError(
                f"the hub's API at {self.settings.api_url} did not answer ({type(error).__name__})"
            ) from None
        if reply.status_code == 404:
            raise OwnerServerError(f"the hub has no user {user!r}")
        if reply.status_code != 200:
            raise OwnerServerError(
                f"the hub refused to describe user {user!r} ({reply.status_code}): give the "
                "service the 'servers' scope (docs/jupyterhub.md)"
            )
        servers = reply.json().get("servers") or {}
        found = servers.get(self.settings.server_name)
        return found if isinstance(found, dict) else None

    async def ready_url(self, user: str) -> str:
        """The URL of the user's running server, started first when it is not running."""
        lock = self._starting.setdefault(user, asyncio.Lock())
        async with lock:  # one start per user, however many steps ask at once
            model = await self._server_model(user)
            if model is not None and model.get("ready"):
                return self._url_of(model)
            if model is None or not model.get("pending"):
                await self._spawn(user)
            return await self._wait_ready(user)

    async def _spawn(self, user: str) -> None:
        url = (
            f"{self.settings.api_url.rstrip('/')}/users/{quote(user, safe='')}"
            f"/servers/{quote(self.settings.server_name, safe='')}"
        )
        try:
            reply = await self.client.post(url, json={}, timeout=self.settings.spawn_timeout)
        except httpx.HTTPError as error:
            raise OwnerServerError(
                f"the hub did not start {self._where(user)} ({type(error).__name__})"
            ) from None
        if reply.status_code in (201, 202):
            return
        if reply.status_code == 400 and "already" in reply.text:
            return  # started meanwhile (by the user, or another replica)
        raise OwnerServerError(
            f"the hub could not start {self._where(user)} ({reply.status_code}): "
            f"{_hub_message(reply)}"
        )

    async def _wait_ready(self, user: str) -> str:
        deadline = time.monotonic() + self.settings.spawn_timeout
        while time.monotonic() < deadline:
            model = await self._server_model(user)
            if model is not None and model.get("ready"):
                return self._url_of(model)
            if model is None or not model.get("pending"):
                raise OwnerServerError(f"{self._where(user)} stopped while starting")
            await asyncio.sleep(self.settings.poll_seconds)
        raise OwnerServerError(
            f"{self._where(user)} was not ready within {self.settings.spawn_timeout:g} s"
        )

    def _url_of(self, model: Mapping[str, Any]) -> str:
        path = str(model.get("url") or "")
        if path.startswith(("http://", "https://")):  # the hub's subdomain mode
            return path.rstrip("/") + "/"
        return f"{self.settings.proxy_url.rstrip('/')}/{path.lstrip('/')}"

    async def running_url(self, user: str) -> str | None:
        """The URL of the user's server when it is running and ready, else None."""
        model = await self._server_model(user)
        return self._url_of(model) if model is not None and model.get("ready") else None

    async def call(
        self,
        user: str,
        method: str,
        endpoint: str,
        body: Any,
        *,
        timeout: float | None,
        start: bool = True,
    ) -> Any:
        """Send one step to the user's server (started if need be, unless ``start`` is False:
        then None when it is not running); its JSON answer."""
        base = await self.ready_url(user) if start else await self.running_url(user)
        if base is None:
            return None
        limit = (timeout or self.settings.step_timeout) + 30.0
        try:
            reply = await self.client.request(
                method, f"{base}{endpoint}", json=body, timeout=httpx.Timeout(30.0, read=limit)
            )
        except httpx.HTTPError as error:
            raise OwnerServerError(
                f"{self._where(user)} did not answer ({type(error).__name__})"
            ) from None
        if len(reply.content) > _MAX_REPLY_BYTES:
            raise OwnerServerError(f"{self._where(user)} answered more than 64 MB")
        if reply.status_code == 404 and "workscript" not in reply.text.lower():
            raise OwnerServerError(
                f"{self._where(user)} has no Workscript extension (install workscript-jupyter "
                "in the users' environment)"
            )
        remote = _remote_error(reply)
        if remote is not None:
            raise remote
        if reply.status_code >= 400:
            raise OwnerServerError(
                f"{self._where(user)} refused the step ({reply.status_code}): {_hub_message(reply)}"
            )
        return reply.json() if reply.content else None


def _remote_error(reply: httpx.Response) -> NotebookError | None:
    """The step's own error (the user server's error envelope: a bad path, a python step's
    exception), with its code, as if it had been raised here."""
    if reply.status_code < 400 or reply.status_code >= 500:
        return None
    try:
        error = reply.json().get("error")
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict) or not error.get("code") or not error.get("message"):
        return None
    raised = NotebookError(str(error["message"]), details=error.get("details"))
    raised.code = str(error["code"])
    return raised


def _hub_message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:300]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if body.get("message"):
            return str(body["message"])[:300]
    return reply.text[:300]


class OwnerNotebooks:
    """The ``NotebookGateway`` of one hub user: every step runs in that user's server."""

    def __init__(self, servers: OwnerServers, user: str) -> None:
        self.servers = servers
        self.user = user
        # the runs whose python steps started a kernel in the user's server: the engine closes
        # every run, and a run without python steps must not cost a request to the hub
        self._python_runs: set[str] = set()

    async def run_notebook(
        self,
        path: str,
        *,
        parameters: Mapping[str, Any],
        kernel: str | None = None,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        body = {"path": path, "parameters": dict(parameters), "kernel": kernel, "timeout": timeout}
        report = await self.servers.call(self.user, "POST", NOTEBOOK_RUNS, body, timeout=timeout)
        if not isinstance(report, dict):
            raise OwnerServerError(f"{self.servers._where(self.user)} answered no report")
        if on_progress is not None and report.get("cellsTotal") is not None:
            # no cell-by-cell progress crosses the server boundary: one report at the end
            on_progress(
                {
                    "cellIndex": max(int(report.get("cellsDone") or 0) - 1, 0),
                    "cellsDone": report.get("cellsDone"),
                    "cellsTotal": report.get("cellsTotal"),
                    "status": report.get("status"),
                    "durationMs": report.get("durationMs"),
                }
            )
        return report

    async def run_python(self, run_key: str, code: str, state: dict[str, Any]) -> dict[str, Any]:
        body = {"runKey": run_key, "code": code, "state": state}
        self._python_runs.add(run_key)
        answer = await self.servers.call(self.user, "POST", PYTHON_RUNS, body, timeout=None)
        if not isinstance(answer, dict) or not isinstance(answer.get("state"), dict):
            raise OwnerServerError(f"{self.servers._where(self.user)} answered no state")
        return answer["state"]  # type: ignore[no-any-return]

    async def close_run(self, run_key: str) -> None:
        if run_key not in self._python_runs:
            return
        self._python_runs.discard(run_key)
        with contextlib.suppress(NotebookError):  # the server is gone: so is the kernel
            await self.servers.call(
                self.user,
                "DELETE",
                f"{PYTHON_RUNS}/{quote(run_key, safe='')}",
                None,
                timeout=30,
                start=False,  # a stopped server has no kernel left to close
            )
