"""``/workscript/ws`` through a real Jupyter server: runs started over REST, events over the socket.

Two users (tests/server/identity.py) on a shared server (``single_user=False``): each sees only
the events of their own runs.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import time
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from ..ci import in_ci
from .conftest import Api, document, server_config
from .identity import TwoUsersIdentityProvider, auth

FINAL = {"workflow:completed", "workflow:failed", "workflow:cancelled"}


def _wiring_problems() -> list[str]:
    """What is still missing for the end-to-end path (other issues build these parts)."""
    if importlib.util.find_spec("workscript_jupyter.service") is None:
        return ["workscript_jupyter/service/ does not exist yet"]
    problems = []
    try:
        composition = importlib.import_module("workscript_jupyter.server.composition")
        routes = importlib.import_module("workscript_jupyter.server.routes")
    except ImportError as error:
        return [f"the server extension does not import: {error}"]
    from workscript_jupyter.server.websocket import EventSocketHandler

    if "EventHub(" not in inspect.getsource(composition):
        problems.append("server/composition.py does not create the EventHub")
    if not any(handler is EventSocketHandler for _, handler, *_ in routes.routes()):
        problems.append("/workscript/ws is not routed to EventSocketHandler")
    return problems


@pytest.fixture(autouse=True)
def _wired():
    problems = _wiring_problems()
    if problems:
        message = "end-to-end WebSocket tests need the app wiring: " + "; ".join(problems)
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(
        workscript_db_url,
        server={"identity_provider_class": TwoUsersIdentityProvider},
        single_user=False,
        admin_users=[],
    )


@pytest.fixture
def alice(jp_fetch, workscript) -> Api:
    return Api(jp_fetch, auth("alice"))


@pytest.fixture
def bob(jp_fetch, workscript) -> Api:
    return Api(jp_fetch, auth("bob"))


class Socket:
    """A test client of /workscript/ws."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def send(self, message: Any) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.connection.write_message(text)

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        text = await asyncio.wait_for(self.connection.read_message(), timeout)
        assert text is not None, "the server closed the socket"
        return json.loads(text)

    async def subscribe(self, channel: str) -> dict[str, Any]:
        await self.send({"type": "subscribe", "channel": channel})
        return await self.receive()

    async def events_until_final(self, execution_id: str, timeout: float = 15.0):
        """The messages of one run up to and including its final workflow:* event."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(0.1, deadline - time.monotonic()))
            if message["payload"].get("executionId") != execution_id:
                continue
            seen.append(message)
            if message["type"] in FINAL:
                return seen

    async def nothing_within(self, seconds: float) -> None:
        try:
            message = await asyncio.wait_for(self.connection.read_message(), seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message}")

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def open_socket(jp_ws_fetch, workscript):
    sockets: list[Socket] = []

    async def _open(user: str) -> Socket:
        socket = Socket(await jp_ws_fetch("workscript", "ws", headers=auth(user)))
        sockets.append(socket)
        return socket

    yield _open
    for socket in sockets:
        socket.close()


async def start_run(api: Api, *steps: Any) -> tuple[str, str]:
    created = await api.post("workflows", json_body={"definition": document(*steps)})
    assert created.code == 201, created.raw
    workflow_id = created.body["id"]
    started = await api.post("workflows", workflow_id, "run")
    assert started.code in (200, 202), started.raw
    return workflow_id, started.body["id"]


STEPS = ({"$.greeting": "hello {{$.who}}"}, {"$.farewell": "bye {{$.who}}"})


async def test_a_run_streams_its_events_to_a_subscriber(alice, open_socket):
    socket = await open_socket("alice")
    reply = await socket.subscribe("executions")
    assert reply["type"] == "subscribed" and reply["payload"] == {"channel": "executions"}

    workflow_id, execution_id = await start_run(alice, *STEPS)
    messages = await socket.events_until_final(execution_id)

    kinds = [m["type"] for m in messages]
    assert kinds[0] == "workflow:started"
    assert kinds[-1] == "workflow:completed"
    assert any(kind.startswith("node:") for kind in kinds[1:-1]), kinds
    for message in messages:
        assert message["payload"]["executionId"] == execution_id
        assert message["payload"]["workflowId"] == workflow_id
        assert isinstance(message["timestamp"], int)
    # the record is final before the final event: REST agrees with the socket
    run = await alice.get("executions", execution_id)
    assert run.body["status"] == "completed"


async def test_subscribing_to_one_run_and_to_its_workflow(alice, open_socket):
    workflow_id, first = await start_run(alice, *STEPS)
    await alice.wait_for_status(first, {"completed"})
    socket = await open_socket("alice")
    assert (await socket.subscribe(f"workflow:{workflow_id}"))["type"] == "subscribed"
    started = await alice.post("workflows", workflow_id, "run")
    second = started.body["id"]
    messages = await socket.events_until_final(second)
    assert messages[-1]["type"] == "workflow:completed"
    assert (await socket.subscribe(f"execution:{second}"))["type"] == "subscribed"


async def test_another_users_run_is_never_delivered(alice, bob, open_socket):
    alice_socket = await open_socket("alice")
    bob_socket = await open_socket("bob")
    await alice_socket.subscribe("executions")
    await bob_socket.subscribe("executions")

    _, alice_run = await start_run(alice, *STEPS)
    await alice_socket.events_until_final(alice_run)
    _, bob_run = await start_run(bob, *STEPS)
    await bob_socket.events_until_final(bob_run)
    # bob's socket saw only bob's run, alice's only alice's (the rest would be queued by now)
    await alice_socket.send({"type": "ping"})
    await bob_socket.send({"type": "ping"})
    assert (await alice_socket.receive())["type"] == "pong"
    assert (await bob_socket.receive())["type"] == "pong"

    # and bob cannot subscribe to alice's run by id
    reply = await bob_socket.subscribe(f"execution:{alice_run}")
    assert reply["type"] == "error"
    assert reply["payload"]["code"] == "NOT_FOUND"
    await bob_socket.nothing_within(0.2)


async def test_bad_messages_get_errors_and_the_socket_stays_open(open_socket):
    socket = await open_socket("alice")
    for bad in ("{", '{"type": "launch"}', '{"type": "subscribe", "channel": "all"}'):
        await socket.send(bad)
        reply = await socket.receive()
        assert reply["type"] == "error", reply
        assert reply["payload"]["code"] == "BAD_REQUEST"
    await socket.send({"type": "ping"})
    assert (await socket.receive())["type"] == "pong"


@pytest.mark.parametrize("headers", [{"Authorization": ""}, {"Authorization": "token nope"}])
async def test_an_unauthenticated_socket_is_refused(jp_ws_fetch, workscript, headers):
    with pytest.raises(HTTPClientError) as caught:
        await jp_ws_fetch("workscript", "ws", headers=headers)
    assert caught.value.code in (401, 403)


async def test_a_closed_socket_leaves_the_hub(alice, open_socket, workscript):
    hub = workscript["event_hub"]
    before = len(hub.clients)
    socket = await open_socket("alice")
    await socket.subscribe("executions")
    assert len(hub.clients) == before + 1
    socket.close()
    deadline = time.monotonic() + 5
    while len(hub.clients) > before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(hub.clients) == before
