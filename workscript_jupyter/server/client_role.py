"""The ``client`` role: a JupyterHub user server that forwards ``/workscript/*`` to the service.

On a hub, one Workscript service holds every user's workflows, runs and schedules
(docs/jupyterhub.md). A user's own server then runs no scheduler and opens no database: the
``%%workflow`` magics (their kernel calls its own server with ``JUPYTERHUB_API_TOKEN``) and the
Lab panel (the browser's session) reach ``/workscript/*`` on the user's server as everywhere
else, and this module sends each request on to the service **with the user's own hub token** (the
one the request was authenticated with: a header, or the OAuth cookie the hub set for this
server). The service asks the hub who that token belongs to, so it acts for that user and no one
else; the browser never holds a service secret and the user server holds none either.

The hub's example configuration lets those tokens reach the service
(``Spawner.server_token_scopes`` and ``oauth_client_allowed_scopes`` with
``access:services!service=workscript``); a token without that scope gets the service's 403.

What the service needs to run in the user's server (notebooks, python steps: see
owner_runs.py) is served here, not forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from jupyter_server.auth.decorator import allow_unauthenticated, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import httpclient, web, websocket

from ..errors import ConfigurationError

__all__ = [
    "ClientSettings",
    "ForwardFirstMessageSocketHandler",
    "ForwardHandler",
    "ForwardSocketHandler",
    "Forwarder",
    "client_routes",
    "client_settings",
    "close_client",
    "detect_role",
]

FORWARDER_SETTING = "forwarder"
#: hop-by-hop headers and the ones the forwarder sets itself; Cookie and Authorization belong
#: to the user server (the service gets the user's token instead)
_REQUEST_DROP = frozenset(
    {
        "authorization", "connection", "content-length", "cookie", "host", "keep-alive",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "x-xsrftoken",
        "accept-encoding",
    }
)  # fmt: skip
_RESPONSE_DROP = frozenset(
    {
        "connection", "content-length", "content-encoding", "date", "keep-alive", "server",
        "set-cookie", "transfer-encoding", "trailer", "upgrade",
    }
)  # fmt: skip
#: a request may wait this long for the service (run waits are capped by the service below it)
_REQUEST_TIMEOUT = httpx.Timeout(10.0, read=330.0)
_MAX_MESSAGE = 16 * 1024 * 1024


def detect_role(environ: Mapping[str, str]) -> str:
    """``WORKSCRIPT_ROLE`` when set; else ``client`` in a hub user server that was told where
    the service is (``WORKSCRIPT_SERVICE_URL``, set by the example hub configuration for every
    spawner); else ``local``."""
    explicit = environ.get("WORKSCRIPT_ROLE", "").strip()
    if explicit:
        return explicit
    in_user_server = bool(environ.get("JUPYTERHUB_API_TOKEN") and environ.get("JUPYTERHUB_USER"))
    is_service = bool(environ.get("JUPYTERHUB_SERVICE_NAME"))
    if in_user_server and not is_service and environ.get("WORKSCRIPT_SERVICE_URL"):
        return "client"
    return "local"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Where the service is: its own URL (as the hub registered it) and its path prefix."""

    service_url: str
    service_prefix: str  # e.g. /services/workscript/ (the hub's base URL included)

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, service_url: str = "", service_name: str = "workscript"
    ) -> ClientSettings:
        url = (service_url or environ.get("WORKSCRIPT_SERVICE_URL", "")).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                "WorkscriptApp.service_url (WORKSCRIPT_SERVICE_URL): the client role needs the "
                f"Workscript service's http(s) URL, not {url!r}"
            )
        base = environ.get("JUPYTERHUB_BASE_URL", "/") or "/"
        prefix = f"{base.rstrip('/')}/services/{service_name}/"
        return cls(url, prefix)

    def target(self, path: str, query: str = "") -> str:
        """The service URL of ``/workscript/<path>``."""
        url = f"{self.service_url}{self.service_prefix}workscript/{path}"
        return f"{url}?{query}" if query else url

    def ws_target(self, path: str, query: str = "") -> str:
        return "ws" + self.target(path, query)[len("http") :]


class Forwarder:
    """One HTTP client to the service, shared by every forwarded request of this server."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_REQUEST_TIMEOUT, follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _user_token(handler: JupyterHandler) -> str | None:
    """The hub token the request was authenticated with (header, URL or this server's OAuth
    cookie), or None when this server is not behind a hub."""
    hub_auth = getattr(handler.identity_provider, "hub_auth", None)
    if hub_auth is None:
        return None
    token = hub_auth.get_token(handler)
    return str(token) if token else None


class ForwardHandler(APIHandler):
    """``/workscript/<path>`` on a user server: the same request, sent on to the service."""

    auth_resource = "workscript"

    @property
    def forwarder(self) -> Forwarder:
        return self.settings["workscript"][FORWARDER_SETTING]  # type: ignore[no-any-return]

    async def _forward(self, path: str) -> None:
        token = _user_token(self)
        if token is None:
            raise web.HTTPError(
                401, "this server forwards to the Workscript service with your hub token, and "
                "the request carried none",
            )  # fmt: skip
        headers = {
            name: value
            for name, value in self.request.headers.get_all()
            if name.lower() not in _REQUEST_DROP
        }
        headers["Authorization"] = f"token {token}"
        settings = self.forwarder.settings
        try:
            reply = await self.forwarder.client.request(
                self.request.method or "GET",
                settings.target(path, self.request.query),
                headers=headers,
                content=self.request.body or None,
            )
        except httpx.HTTPError as error:
            raise web.HTTPError(
                502, f"the Workscript service at {settings.service_url} did not answer "
                f"({type(error).__name__})",
            ) from None  # fmt: skip
        self.set_status(reply.status_code, reply.reason_phrase or "Unknown")
        for name, value in reply.headers.multi_items():
            lower = name.lower()
            if lower in _RESPONSE_DROP or lower.startswith("access-control-"):
                continue  # this server's own CORS policy applies, not the service's
            if lower == "location":
                value = self._local_location(value)
            self.add_header(name, value)
        if reply.status_code != 304 and reply.content:
            self.write(reply.content)
        await self.finish()

    def _local_location(self, location: str) -> str:
        """A service path in ``Location`` becomes the same path on this server."""
        service_path = f"{self.forwarder.settings.service_prefix}workscript/"
        if location.startswith(service_path):
            return f"{self.base_url.rstrip('/')}/workscript/{location[len(service_path) :]}"
        return location

    def check_xsrf_cookie(self) -> None:
        # a request authenticated by a token header needs no XSRF token (jupyter_server's rule);
        # a cookie-authenticated one does, as on every other API of this server
        if self.request.headers.get("Authorization"):
            return None
        return super().check_xsrf_cookie()

    @web.authenticated
    async def get(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    async def post(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    async def put(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    async def patch(self, path: str) -> None:
        await self._forward(path)

    @web.authenticated
    async def delete(self, path: str) -> None:
        await self._forward(path)


class ForwardSocketHandler(JupyterHandler, websocket.WebSocketHandler):
    """``/workscript/ws`` on a user server: a WebSocket to the service's, with the user's token,
    and the messages passed through both ways."""

    auth_resource = "workscript"
    _upstream: websocket.WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None

    @property
    def forwarder(self) -> Forwarder:
        return self.settings["workscript"][FORWARDER_SETTING]  # type: ignore[no-any-return]

    async def _connect_upstream(self, path: str, token: str | None) -> None:
        headers = {"Authorization": f"token {token}"} if token else {}
        request = httpclient.HTTPRequest(
            self.forwarder.settings.ws_target(path), headers=headers, connect_timeout=10.0
        )
        try:
            self._upstream = await websocket.websocket_connect(
                request, max_message_size=_MAX_MESSAGE
            )
        except httpclient.HTTPClientError as error:
            raise web.HTTPError(error.code, "the Workscript service refused the socket") from None
        except OSError as error:
            raise web.HTTPError(
                502, f"the Workscript service did not answer ({type(error).__name__})"
            ) from None

    @ws_authenticated
    async def get(self, path: str) -> None:
        token = _user_token(self)
        if token is None:
            raise web.HTTPError(401, "no hub token to forward to the Workscript service")
        await self._connect_upstream(path, token)
        await websocket.WebSocketHandler.get(self, path)

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._pump = asyncio.create_task(self._from_service())

    async def _from_service(self) -> None:
        upstream = self._upstream
        while upstream is not None:
            message = await upstream.read_message()
            if message is None:  # the service closed: so do we, with its code
                self.close(upstream.close_code, upstream.close_reason)
                return
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                return

    async def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            with contextlib.suppress(websocket.WebSocketClosedError):
                await self._upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None


class ForwardFirstMessageSocketHandler(ForwardSocketHandler):
    """``/workscript/ws/authenticate`` (the credential, an API key or a JWT, travels in the first
    message): passed through as it is, with no token added; the service checks the message."""

    @allow_unauthenticated
    async def get(self, path: str) -> None:
        await self._connect_upstream(path, None)
        await websocket.WebSocketHandler.get(self, path)


def client_routes(extra: list[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    """The client role's routes: what it serves itself first (``extra``), then the forwards."""
    return [
        *(extra or []),
        (r"/workscript/(ws/authenticate)", ForwardFirstMessageSocketHandler),
        (r"/workscript/(ws)", ForwardSocketHandler),
        (r"/workscript/(.*)", ForwardHandler),
    ]


def client_settings(app: Any, *, root_dir: Path) -> dict[str, Any]:
    """``settings["workscript"]`` of a client-role server: the forwarder and the kernels of the
    steps the service runs here (handlers/owner_runs.py); no store, no scheduler."""
    from .handlers.owner_runs import OWNER_RUNS_SETTING, OwnerRunKernels

    settings = ClientSettings.from_environ(
        os.environ, service_url=app.service_url, service_name=app.service_name
    )
    return {
        "role": "client",
        FORWARDER_SETTING: Forwarder(settings),
        # a warm kernel for the service's steps once the first one came (kernel_pool_size)
        OWNER_RUNS_SETTING: OwnerRunKernels(root_dir, pool_size=min(app.kernel_pool_size, 1)),
    }


async def close_client(extension: Mapping[str, Any], owner_servers: Any) -> None:
    """Stop what a client holds (its forwarder, its steps' kernels) and, on a service, the
    client to users' servers."""
    from .handlers.owner_runs import OWNER_RUNS_SETTING

    forwarder = extension.get(FORWARDER_SETTING)
    if forwarder is not None:
        await forwarder.close()
    kernels = extension.get(OWNER_RUNS_SETTING)
    if kernels is not None:
        await kernels.close()
    if owner_servers is not None:
        await owner_servers.close()
