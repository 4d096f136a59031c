"""``/workscript/ws``: the run-event WebSocket (docs: the WebSocket section of the REST API).

Client → server: ``{"type": "subscribe"|"unsubscribe", "channel": ...}`` and ``{"type": "ping"}``.
Server → client: ``subscribed``/``unsubscribed``/``pong``/``error`` and the run events
(``Event.to_message()``), all ``{type, payload, timestamp}``. The filtering, coalescing and flow
control live in ``EventHub`` (events_hub.py); this handler authenticates, resolves the caller,
and moves text between the socket and the hub. Modelled on jupyter_server's
``services/events/handlers.py``.

The hub is found in ``settings["workscript"]["event_hub"]`` (the extension puts it there).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from jupyter_core.utils import ensure_async
from jupyter_server import CallContext
from jupyter_server.auth.decorator import allow_unauthenticated, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..auth.api_keys import Credential, read_credential
from ..engine.documents import dump_json, load_json
from ..errors import PermissionDeniedError, WorkscriptError
from .base import status_for
from .credentials import credential_of, principal_of
from .events_hub import EventClient, EventHub

if TYPE_CHECKING:
    from ..service import Identities

__all__ = [
    "HUB_SETTING",
    "EventHub",
    "EventSocketHandler",
    "FirstMessageSocketHandler",
    "resolve_redis_url",
]

HUB_SETTING = "event_hub"
CLOSE_UNAUTHORIZED = 4401  # application close codes 4000-4999: the credential was refused


def resolve_redis_url(configured: str | None) -> str | None:
    """The Redis URL for cross-server events: the configured one, else ``REDIS_URL``, else None."""
    return configured or os.environ.get("REDIS_URL") or None


class EventSocketHandler(WebSocketMixin, JupyterHandler, WebSocketHandler):
    """One client of the run events. Keep-alive pings come from ``WebSocketMixin``."""

    auth_resource = "workscript:events"
    _client: EventClient | None = None
    _caller: Any = None
    _credential: Credential | None = None
    _recheck: PeriodicCallback | None = None

    @property
    def hub(self) -> EventHub:
        hub = self.settings.get("workscript", {}).get(HUB_SETTING)
        if not isinstance(hub, EventHub):
            raise web.HTTPError(503, "the workscript event hub is not running")
        return hub

    @property
    def identities(self) -> Identities:
        """The service's ``Identities``: the Jupyter user mapped to a workscript caller."""
        return self.settings["workscript"]["identities"]  # type: ignore[no-any-return]

    @property
    def identity_provider(self) -> Any:
        """An API key or JWT in the upgrade request's headers first, then Jupyter's identity
        (server/credentials.py); the key's permissions decide instead of Jupyter's authorizer."""
        identity = self.settings.get("workscript", {}).get("identity")
        return identity if identity is not None else super().identity_provider

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """A refused workscript credential is its 401/429/503, not tornado's 500."""
        try:
            await super().prepare(*args, **kwargs)
        except WorkscriptError as error:
            # Jupyter's write_error reads the user: there is none (not an unset attribute)
            self.current_user = self._jupyter_current_user = None
            raise web.HTTPError(status_for(error), error.message) from error

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize, map the Jupyter user to a workscript caller, then upgrade."""
        _ = self.hub  # 503 before anything else when the hub is not running
        principal = principal_of(self)
        if principal is not None:
            try:
                if principal.rate is not None:
                    principal.rate.raise_if_refused("this API key's rate limit")
                principal.caller.require("execution:read")
            except WorkscriptError as error:
                raise web.HTTPError(status_for(error), error.message) from error
            self._caller = principal.caller
            self._credential = credential_of(self)
            await super().get(*args, **kwargs)
            return
        user = self.current_user
        # like jupyter_server's kernel and event sockets: a WebSocket is the "execute" action
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "execute", self.auth_resource)
        )
        if not allowed:
            raise web.HTTPError(403, f"not authorized to execute on {self.auth_resource}")
        username, display_name, groups = _identity(user)
        try:
            self._caller = await self.identities.caller_for(
                username, display_name=display_name, hub_groups=groups
            )
        except PermissionDeniedError as error:  # a disabled account
            raise web.HTTPError(403, error.message) from error
        except WorkscriptError as error:  # the store is away
            raise web.HTTPError(503, error.message) from error
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)  # starts the keep-alive pings
        self._client = self.hub.connect(self._caller, self)
        self._watch_credential()

    def _watch_credential(self) -> None:
        """A socket opened with a key or JWT checks it again every ``RECHECK_SECONDS``: a
        revoked or expired key, a logout, a password change or a disabled user closes it
        (4401) instead of leaving it subscribed for as long as it stays open."""
        if self._credential is None:
            return
        self._recheck = PeriodicCallback(self._check_credential, RECHECK_SECONDS * 1000)
        self._recheck.start()

    async def _check_credential(self) -> None:
        authenticator = self.settings["workscript"].get("authenticator")
        if self._credential is None or authenticator is None:
            return
        try:
            principal = await authenticator.authenticate(self._credential, count=False)
            principal.caller.require("execution:read")
        except WorkscriptError as error:
            self.close(CLOSE_UNAUTHORIZED, error.message[:120])

    async def on_message(self, message: str | bytes) -> None:
        if self._client is not None:
            await self.hub.handle(self._client, message)

    def on_close(self) -> None:
        if self._recheck is not None:
            self._recheck.stop()
            self._recheck = None
        client, self._client = self._client, None
        if client is not None:
            hub = self.settings.get("workscript", {}).get(HUB_SETTING)
            if isinstance(hub, EventHub):
                hub.disconnect(client)

    # -- the hub's Transport -------------------------------------------------------------------

    async def send(self, text: str) -> None:
        """Write one message; raises WebSocketClosedError once the socket is gone."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            raise WebSocketClosedError()
        await self.write_message(text)


AUTH_WAIT_SECONDS = 10.0
RECHECK_SECONDS = 30.0


class FirstMessageSocketHandler(EventSocketHandler):
    """``/workscript/ws/authenticate``: for clients that cannot set headers on a WebSocket
    (a browser's ``new WebSocket(url)``). The upgrade needs no credential; the first message
    must be ``{"type": "authenticate", "token": "<API key or JWT access token>"}`` within
    ``AUTH_WAIT_SECONDS``, else the socket closes with 4401. The token travels in a message,
    never in the URL (URLs end up in logs), and nothing of it is logged. Until then the socket
    is subscribed to nothing."""

    auth_exempt = "the first message carries the API key or JWT, checked before anything else"
    _waiting: asyncio.TimerHandle | None = None

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        # no identity from headers: a credential in them belongs on /workscript/ws
        CallContext.set(CallContext.JUPYTER_HANDLER, self)
        if not self.check_host():
            raise web.HTTPError(403)
        self.current_user = self._jupyter_current_user = None

    @allow_unauthenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        _ = self.hub
        await WebSocketHandler.get(self, *args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        WebSocketMixin.open(self, *args, **kwargs)  # keep-alive pings, no hub client yet
        loop = asyncio.get_running_loop()
        self._waiting = loop.call_later(AUTH_WAIT_SECONDS, self._refuse, "no authenticate message")

    def _refuse(self, reason: str) -> None:
        self.close(CLOSE_UNAUTHORIZED, reason[:120])

    async def on_message(self, message: str | bytes) -> None:
        if self._client is not None:
            await self.hub.handle(self._client, message)
            return
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None
        token = _authenticate_token(message)
        if token is None:
            self._refuse('the first message must be {"type": "authenticate", "token": ...}')
            return
        authenticator = self.settings["workscript"].get("authenticator")
        credential = read_credential(None, f"Bearer {token}")
        if authenticator is None or credential is None:
            self._refuse("the token is neither a workscript API key nor an access token")
            return
        try:
            principal = await authenticator.authenticate(credential)
            if principal.rate is not None:
                principal.rate.raise_if_refused("this API key's rate limit")
            principal.caller.require("execution:read")
        except WorkscriptError as error:
            self._refuse(error.message)
            return
        self._caller = principal.caller
        self._credential = credential
        self._client = self.hub.connect(self._caller, self)
        self._watch_credential()
        await self.send(dump_json({"type": "authenticated", "payload": {}, "timestamp": None}))

    def on_close(self) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None
        super().on_close()


def _authenticate_token(message: str | bytes) -> str | None:
    if len(message) > 8192:
        return None
    try:
        data = load_json(message, source="the message")
    except WorkscriptError:
        return None
    if not isinstance(data, dict) or data.get("type") != "authenticate":
        return None
    token = data.get("token")
    return token if isinstance(token, str) and token else None


def _identity(user: Any) -> tuple[str, str | None, tuple[str, ...]]:
    """Username, display name and hub groups of a Jupyter user (as the REST handlers map it)."""
    username = str(getattr(user, "username", "") or "")
    display_name = getattr(user, "display_name", None) or getattr(user, "name", None) or None
    groups: tuple[str, ...] = ()
    hub_user = getattr(user, "hub_user", None)  # set by jupyterhub-singleuser
    if isinstance(hub_user, dict):
        username = str(hub_user.get("name") or username)
        groups = tuple(str(g) for g in hub_user.get("groups") or ())
    return username, display_name, groups
