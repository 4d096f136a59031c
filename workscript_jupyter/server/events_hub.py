"""``EventHub``: run events from the engine's bus to WebSocket clients (DESIGN §3, Events).

One hub per server. It listens to the ``EventBus`` the service publishes to and keeps, for every
connected client, who it is (a service ``Caller``), the channels it subscribed to and a bounded
outgoing queue. A client sees an event only when it may read the run (its owner, or an admin)
and subscribed to a matching channel: ``executions`` (every readable run), ``execution:<id>``,
``workflow:<id>`` or ``automations``.

Flow control, so that a 4,000-node loop cannot flood a browser nor a stalled one eat memory:

- events collect per client in a window of ``coalesce_seconds`` (50 ms); within it only the latest
  ``node:*`` event of each run is kept, while ``workflow:*`` events are never dropped and keep
  their order relative to the node events of the same run;
- at the end of the window the kept events go to the client's outbox, which one short-lived task
  drains at the speed the socket accepts;
- a client whose window plus outbox exceed ``max_queue`` messages (or ``max_queue_bytes``) is
  closed with code 1013 ("try again later") and forgotten.

With a Redis URL, events also cross servers through pub/sub (see ``events_redis``); without one
nothing of redis is imported.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

from ..engine import Event, EventBus
from ..engine.documents import dump_json, load_json
from ..errors import DocumentError, RecordNotFoundError, WorkscriptError

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_TRY_AGAIN_LATER",
    "MAX_CHANNELS_PER_CLIENT",
    "EventClient",
    "EventHub",
    "Transport",
]

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
MAX_CHANNELS_PER_CLIENT = 256
MAX_CLIENT_MESSAGE_CHARS = 64 * 1024

_GLOBAL_CHANNELS = frozenset({"executions", "automations"})
_SCOPED_CHANNELS = frozenset({"execution", "workflow"})


class Transport(Protocol):
    """The socket side of a client: the WebSocket handler, or a fake in tests."""

    def send(self, text: str) -> Awaitable[None]:
        """Write one message; completes when the socket took it.

        Raises ``WebSocketClosedError`` (or an ``OSError`` such as ``ConnectionError``) once the
        connection is gone.
        """

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code."""


class EventClient:
    """One connected client: who it is, what it listens to, what waits to be sent to it."""

    __slots__ = (
        "caller",
        "channels",
        "closed",
        "node_slots",
        "outbox",
        "outbox_bytes",
        "pending",
        "sender",
        "transport",
    )

    def __init__(self, caller: Any, transport: Transport) -> None:
        self.caller = caller
        self.transport = transport
        self.channels: set[str] = set()
        # the current coalescing window, in arrival order; node_slots maps a run id to the
        # index of its pending node event, replaced in place by later node events of that run
        self.pending: list[dict[str, Any]] = []
        self.node_slots: dict[str, int] = {}
        self.outbox: deque[str] = deque()
        self.outbox_bytes = 0
        self.sender: asyncio.Task[None] | None = None
        self.closed = False

    def may_read(self, owner_id: Any) -> bool:
        return bool(self.caller.scope.is_admin) or (
            owner_id is not None and owner_id == self.caller.user.id
        )

    def wants(self, event_type: str, execution_id: Any, workflow_id: Any) -> bool:
        channels = self.channels
        if event_type.startswith("automation:"):
            return "automations" in channels or f"workflow:{workflow_id}" in channels
        return (
            "executions" in channels
            or f"execution:{execution_id}" in channels
            or f"workflow:{workflow_id}" in channels
        )

    @property
    def queued(self) -> int:
        return len(self.pending) + len(self.outbox)


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventHub:
    """Fan-out of run events to WebSocket clients, filtered by reader and channel."""

    def __init__(
        self,
        bus: EventBus,
        *,
        runs: Any,
        workflows: Any,
        coalesce_seconds: float = 0.05,
        max_queue: int = 1000,
        max_queue_bytes: int = 4 * 1024 * 1024,
        redis_url: str | None = None,
        redis_channel: str | None = None,
        server_id: str | None = None,
    ) -> None:
        self.bus = bus
        # who may read a scoped channel: ``get_execution`` / ``get_workflow`` (service.Runs,
        # service.Workflows) raise RecordNotFoundError for a run or workflow not theirs
        self.runs = runs
        self.workflows = workflows
        self.coalesce_seconds = coalesce_seconds
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.redis_url = redis_url or None
        self.redis_channel = redis_channel  # None: events_redis.REDIS_CHANNEL
        # unique per hub, so a server ignores its own events coming back from Redis
        self.origin = server_id or uuid.uuid4().hex
        self._clients: set[EventClient] = set()
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._redis: Any = None  # events_redis.RedisBridge when redis_url is set

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._unsubscribe is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if self.redis_url:
            from .events_redis import RedisBridge  # imports redis: only when configured

            channel = {"channel": self.redis_channel} if self.redis_channel else {}
            self._redis = RedisBridge(self.redis_url, self.origin, self._dispatch, **channel)
            await self._redis.start()
        self._unsubscribe = self.bus.subscribe(self._on_event)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        senders = [client.sender for client in self._clients if client.sender is not None]
        for client in tuple(self._clients):
            self._drop(client, CLOSE_GOING_AWAY, "the server is stopping")
        await asyncio.gather(*senders, return_exceptions=True)  # cancelled: let them finish
        if self._redis is not None:
            await self._redis.stop()
            self._redis = None

    @property
    def clients(self) -> frozenset[EventClient]:
        return frozenset(self._clients)

    # -- clients -------------------------------------------------------------------------------

    def connect(self, caller: Any, transport: Transport) -> EventClient:
        client = EventClient(caller, transport)
        self._clients.add(client)
        return client

    def disconnect(self, client: EventClient) -> None:
        """Forget a client (its socket closed). Idempotent."""
        client.closed = True
        self._clients.discard(client)
        client.pending.clear()
        client.node_slots.clear()
        client.outbox.clear()
        client.outbox_bytes = 0
        sender, client.sender = client.sender, None
        if sender is not None and sender is not _current_task():
            sender.cancel()

    async def handle(self, client: EventClient, raw: str | bytes) -> None:
        """One message from the client. A bad message is answered with ``error``, never raised."""
        if len(raw) > MAX_CLIENT_MESSAGE_CHARS:
            self._error(client, "BAD_REQUEST", "the message is too long")
            return
        try:
            data = load_json(raw, source="the message")
        except DocumentError as error:
            self._error(client, "BAD_REQUEST", error.message)
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self._error(client, "BAD_REQUEST", 'a message is an object with a string "type"')
            return
        kind = data["type"]
        if kind == "ping":
            self._reply(client, "pong", {})
        elif kind in ("subscribe", "unsubscribe"):
            channel = data.get("channel")
            if channel is None and isinstance(data.get("payload"), dict):
                channel = data["payload"].get("channel")
            if kind == "subscribe":
                await self._subscribe(client, channel)
            else:
                self._unsubscribe_channel(client, channel)
        else:
            self._error(
                client, "BAD_REQUEST", f"unknown message type {kind!r}: subscribe|unsubscribe|ping"
            )

    async def _subscribe(self, client: EventClient, channel: Any) -> None:
        problem = _channel_problem(channel)
        if problem is not None:
            self._error(client, "BAD_REQUEST", problem, channel)
            return
        if channel not in client.channels and len(client.channels) >= MAX_CHANNELS_PER_CLIENT:
            message = f"at most {MAX_CHANNELS_PER_CLIENT} channels per connection"
            self._error(client, "TOO_MANY_SUBSCRIPTIONS", message, channel)
            return
        kind, _, ident = channel.partition(":")
        if kind in _SCOPED_CHANNELS:
            try:
                if kind == "execution":
                    await self.runs.get_execution(client.caller, ident)
                else:
                    await self.workflows.get_workflow(client.caller, ident)
            except RecordNotFoundError:
                self._error(client, "NOT_FOUND", f"no {kind} {ident!r}", channel)
                return
            except WorkscriptError as error:
                self._error(client, error.code, error.message, channel)
                return
        if client.closed:
            return
        client.channels.add(channel)
        self._reply(client, "subscribed", {"channel": channel})

    def _unsubscribe_channel(self, client: EventClient, channel: Any) -> None:
        problem = _channel_problem(channel)
        if problem is not None:
            self._error(client, "BAD_REQUEST", problem, channel)
            return
        client.channels.discard(channel)
        self._reply(client, "unsubscribed", {"channel": channel})

    # -- events in -----------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """The bus listener. Runs wherever the bus publishes; the work happens on the loop."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            loop.call_soon_threadsafe(self._on_event, event)
            return
        if not self._clients and self._redis is None:
            return  # nobody to tell: do not even build the message
        message = event.to_message()
        owner_id = event.payload.get("ownerId")
        if self._redis is not None:
            self._redis.publish(message, owner_id)
        self._dispatch(message, owner_id)

    def _dispatch(self, message: dict[str, Any], owner_id: Any) -> None:
        """Queue one event message for every client allowed to read it and listening for it."""
        event_type = str(message.get("type", ""))
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return
        execution_id = payload.get("executionId")
        workflow_id = payload.get("workflowId")
        coalesce = event_type.startswith("node:") and execution_id is not None
        for client in tuple(self._clients):
            if client.may_read(owner_id) and client.wants(event_type, execution_id, workflow_id):
                self._enqueue(client, message, execution_id, coalesce)

    def _enqueue(
        self, client: EventClient, message: dict[str, Any], execution_id: Any, coalesce: bool
    ) -> None:
        if coalesce:
            slot = client.node_slots.get(execution_id)
            if slot is not None:
                client.pending[slot] = message  # the latest node event of the run wins
                return
            client.node_slots[execution_id] = len(client.pending)
        elif execution_id is not None:
            # a later node event of this run must come after this one: open a new slot
            client.node_slots.pop(execution_id, None)
        client.pending.append(message)
        if client.queued > self.max_queue:
            self._drop(client, CLOSE_TRY_AGAIN_LATER, "too many undelivered events")
            return
        if not coalesce:
            # workflow:* events go out at once (with the node events before them, in order);
            # only node events wait for the window
            self._flush(client, {})
            return
        self._schedule_flush()

    # -- events out ----------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            loop = self._loop or asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.coalesce_seconds, self._flush_all)

    def _flush_all(self) -> None:
        self._flush_handle = None
        texts: dict[int, tuple[dict[str, Any], str]] = {}  # one json.dumps per event, not client
        for client in tuple(self._clients):
            self._flush(client, texts)

    def _flush(self, client: EventClient, texts: dict[int, tuple[dict[str, Any], str]]) -> None:
        """Move the client's window to its outbox and make sure a sender drains it."""
        if client.pending:
            for message in client.pending:
                cached = texts.get(id(message))
                if cached is None:
                    cached = (message, dump_json(message, default=str))
                    texts[id(message)] = cached
                self._put(client, cached[1])
            client.pending.clear()
            client.node_slots.clear()
        if client.outbox_bytes > self.max_queue_bytes:
            self._drop(client, CLOSE_TRY_AGAIN_LATER, "too many undelivered events")
            return
        if client.outbox and client.sender is None and not client.closed:
            client.sender = asyncio.ensure_future(self._drain(client))

    @staticmethod
    def _put(client: EventClient, text: str) -> None:
        client.outbox.append(text)
        client.outbox_bytes += len(text)

    async def _drain(self, client: EventClient) -> None:
        try:
            while client.outbox and not client.closed:
                text = client.outbox.popleft()
                client.outbox_bytes -= len(text)
                await client.transport.send(text)
        except asyncio.CancelledError:
            raise
        except (WebSocketClosedError, StreamClosedError, OSError) as error:
            # the socket went away: forget the client
            log.debug("workscript events: dropping a client whose send failed: %r", error)
            self.disconnect(client)
        finally:
            if client.sender is _current_task():
                client.sender = None
        if client.outbox and not client.closed:  # filled while the last send completed
            client.sender = asyncio.ensure_future(self._drain(client))

    def _reply(self, client: EventClient, kind: str, payload: dict[str, Any]) -> None:
        """A control message: after the events already waiting, without coalescing delay."""
        if client.closed:
            return
        message = {"type": kind, "payload": payload, "timestamp": _now_ms()}
        self._flush(client, {})
        if client.closed:
            return
        self._put(client, dump_json(message, default=str))
        if client.queued > self.max_queue:
            self._drop(client, CLOSE_TRY_AGAIN_LATER, "too many undelivered messages")
            return
        self._flush(client, {})

    def _error(self, client: EventClient, code: str, message: str, channel: Any = None) -> None:
        payload: dict[str, Any] = {"code": code, "message": message}
        if isinstance(channel, str):
            payload["channel"] = channel
        self._reply(client, "error", payload)

    def _drop(self, client: EventClient, code: int, reason: str) -> None:
        if client.closed:
            return
        log.info("workscript events: closing a client (%s, %s)", code, reason)
        self.disconnect(client)
        try:
            client.transport.close(code, reason)
        except Exception:  # closing an already broken socket: nothing more to do
            log.debug("workscript events: close failed", exc_info=True)


def _channel_problem(channel: Any) -> str | None:
    """Why ``channel`` is not a channel name, or None."""
    if not isinstance(channel, str) or not channel:
        return 'a subscription needs a "channel" string'
    if channel in _GLOBAL_CHANNELS:
        return None
    kind, sep, ident = channel.partition(":")
    if kind in _SCOPED_CHANNELS and sep and ident and len(ident) <= 200:
        return None
    return (
        f"unknown channel {channel[:100]!r}: executions, automations, execution:<id> "
        "or workflow:<id>"
    )


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
