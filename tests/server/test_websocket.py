"""EventHub unit tests: a real EventBus, a fake service, fake sockets (see also _e2e)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from workscript_jupyter.engine import Event, EventBus
from workscript_jupyter.errors import RecordNotFoundError
from workscript_jupyter.server.events_hub import CLOSE_TRY_AGAIN_LATER, EventClient, EventHub
from workscript_jupyter.store.records import Scope, User

WINDOW = 0.05


@dataclass(frozen=True)
class FakeCaller:
    user: User
    scope: Scope


def caller(user_id: str, *, admin: bool = False) -> FakeCaller:
    roles = ("admin",) if admin else ("user",)
    return FakeCaller(User(id=user_id, username=user_id, roles=roles), Scope(user_id, admin))


class FakeService:
    """Just what the hub asks of the runs and workflows use cases: is this run / workflow
    readable?"""

    def __init__(self) -> None:
        self.executions: dict[str, str] = {}  # id -> owner id
        self.workflows: dict[str, str] = {}

    async def get_execution(self, who: FakeCaller, execution_id: str) -> dict[str, str]:
        return self._readable(who, self.executions, "execution", execution_id)

    async def get_workflow(self, who: FakeCaller, workflow_id: str) -> dict[str, str]:
        return self._readable(who, self.workflows, "workflow", workflow_id)

    @staticmethod
    def _readable(who: FakeCaller, rows: dict[str, str], kind: str, ident: str) -> dict[str, str]:
        owner = rows.get(ident)
        if owner is None or not who.scope.allows(owner):
            raise RecordNotFoundError(kind, ident)
        return {"id": ident, "ownerId": owner}


class FakeSocket:
    """A Transport that records what it is sent; ``stalled`` makes every send hang."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.received: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str] | None = None
        self._gate = asyncio.Event()
        if not stalled:
            self._gate.set()

    async def send(self, text: str) -> None:
        await self._gate.wait()
        if self.closed_with is not None:
            raise ConnectionError("closed")
        self.received.append(json.loads(text))

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    def types(self) -> list[str]:
        return [message["type"] for message in self.received]

    def events(self) -> list[dict[str, Any]]:
        control = {"subscribed", "unsubscribed", "pong", "error"}
        return [message for message in self.received if message["type"] not in control]


def event(kind: str, execution_id: str, owner: str, workflow_id: str = "wf-1", **payload: Any):
    return Event(kind, execution_id, workflow_id, {"ownerId": owner, **payload})


async def settle() -> None:
    """Past the end of the coalescing window, and the senders done."""
    await asyncio.sleep(WINDOW * 2 + 0.02)


async def connect(hub: EventHub, who: FakeCaller, *channels: str, **socket_options: Any):
    socket = FakeSocket(**socket_options)
    client = hub.connect(who, socket)
    for channel in channels:
        await hub.handle(client, json.dumps({"type": "subscribe", "channel": channel}))
    return client, socket


def with_hub(test):
    """Run ``test(bus, service, hub)`` on a fresh loop with a started hub."""

    async def main() -> None:
        bus, service = EventBus(), FakeService()
        hub = EventHub(bus, runs=service, workflows=service, coalesce_seconds=WINDOW, max_queue=50)
        await hub.start()
        try:
            await test(bus, service, hub)
        finally:
            await hub.stop()

    asyncio.run(main())


# -- protocol --------------------------------------------------------------------------------


def test_ping_is_answered_with_pong():
    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"))
        await hub.handle(client, '{"type": "ping"}')
        await settle()
        assert socket.types() == ["pong"]
        assert isinstance(socket.received[0]["timestamp"], int)

    with_hub(test)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "object"),
        ('{"type": 3}', "object"),
        ('{"type": "dance"}', "unknown message type"),
        ('{"type": "subscribe"}', "channel"),
        ('{"type": "subscribe", "channel": "everything"}', "unknown channel"),
        ('{"type": "subscribe", "channel": "execution:"}', "unknown channel"),
        ('{"type": "unsubscribe", "channel": 7}', "channel"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_bad_message_gets_an_error_and_the_connection_lives_on(raw, fragment):
    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"))
        await hub.handle(client, raw)
        await hub.handle(client, '{"type": "ping"}')
        await settle()
        assert socket.types() == ["error", "pong"]
        error = socket.received[0]["payload"]
        assert error["code"] == "BAD_REQUEST"
        assert fragment in error["message"]
        assert socket.closed_with is None
        assert client in hub.clients

    with_hub(test)


def test_subscribe_and_unsubscribe_are_acknowledged():
    async def test(bus, service, hub):
        service.executions["run-1"] = "alice"
        service.workflows["wf-1"] = "alice"
        client, socket = await connect(
            hub, caller("alice"), "executions", "execution:run-1", "workflow:wf-1"
        )
        await hub.handle(client, json.dumps({"type": "unsubscribe", "channel": "executions"}))
        await settle()
        assert [(m["type"], m["payload"]["channel"]) for m in socket.received] == [
            ("subscribed", "executions"),
            ("subscribed", "execution:run-1"),
            ("subscribed", "workflow:wf-1"),
            ("unsubscribed", "executions"),
        ]
        assert client.channels == {"execution:run-1", "workflow:wf-1"}

    with_hub(test)


@pytest.mark.parametrize("channel", ["execution:run-bob", "workflow:wf-bob", "execution:nope"])
def test_subscribing_to_a_run_or_workflow_you_cannot_read_is_not_found(channel):
    async def test(bus, service, hub):
        service.executions["run-bob"] = "bob"
        service.workflows["wf-bob"] = "bob"
        client, socket = await connect(hub, caller("alice"), channel)
        await settle()
        assert socket.types() == ["error"]
        assert socket.received[0]["payload"]["code"] == "NOT_FOUND"
        assert socket.received[0]["payload"]["channel"] == channel
        assert client.channels == set()

    with_hub(test)


def test_an_admin_may_subscribe_to_anybodys_run():
    async def test(bus, service, hub):
        service.executions["run-bob"] = "bob"
        _client, socket = await connect(hub, caller("root", admin=True), "execution:run-bob")
        await settle()
        assert socket.types() == ["subscribed"]

    with_hub(test)


# -- filtering -------------------------------------------------------------------------------


def test_a_client_gets_only_the_runs_it_may_read():
    async def test(bus, service, hub):
        _, alice = await connect(hub, caller("alice"), "executions")
        _, bob = await connect(hub, caller("bob"), "executions")
        _, admin = await connect(hub, caller("root", admin=True), "executions")
        bus.publish(event("workflow:started", "run-a", "alice"))
        bus.publish(event("workflow:started", "run-b", "bob"))
        bus.publish(Event("workflow:started", "run-x", "wf-1", {}))  # no owner: admins only
        await settle()
        assert [m["payload"]["executionId"] for m in alice.events()] == ["run-a"]
        assert [m["payload"]["executionId"] for m in bob.events()] == ["run-b"]
        assert [m["payload"]["executionId"] for m in admin.events()] == ["run-a", "run-b", "run-x"]

    with_hub(test)


def test_channels_select_runs_and_workflows():
    async def test(bus, service, hub):
        service.executions.update({"run-1": "alice", "run-2": "alice"})
        service.workflows.update({"wf-9": "alice"})
        _, by_run = await connect(hub, caller("alice"), "execution:run-1")
        _, by_workflow = await connect(hub, caller("alice"), "workflow:wf-9")
        _, nothing = await connect(hub, caller("alice"))
        bus.publish(event("workflow:started", "run-1", "alice", "wf-1"))
        bus.publish(event("workflow:started", "run-2", "alice", "wf-9"))
        bus.publish(event("workflow:started", "run-3", "alice", "wf-1"))
        await settle()
        assert [m["payload"]["executionId"] for m in by_run.events()] == ["run-1"]
        assert [m["payload"]["executionId"] for m in by_workflow.events()] == ["run-2"]
        assert nothing.received == []

    with_hub(test)


def test_a_subscribed_run_of_someone_else_is_still_filtered_by_owner():
    """Readability is checked at subscribe time and again on every event."""

    async def test(bus, service, hub):
        service.executions["run-1"] = "alice"
        _, socket = await connect(hub, caller("alice"), "execution:run-1")
        bus.publish(event("workflow:started", "run-1", "mallory"))
        await settle()
        assert socket.events() == []

    with_hub(test)


def test_unsubscribed_channels_stop_delivering():
    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"), "executions")
        bus.publish(event("workflow:started", "run-1", "alice"))
        await hub.handle(client, json.dumps({"type": "unsubscribe", "channel": "executions"}))
        bus.publish(event("workflow:completed", "run-1", "alice"))
        await settle()
        assert socket.types() == ["subscribed", "workflow:started", "unsubscribed"]

    with_hub(test)


def test_events_carry_the_wire_shape():
    async def test(bus, service, hub):
        _, socket = await connect(hub, caller("alice"), "executions")
        bus.publish(event("node:completed", "run-1", "alice", nodeId="n1", durationMs=3))
        await settle()
        [message] = socket.events()
        assert message["type"] == "node:completed"
        assert message["payload"]["executionId"] == "run-1"
        assert message["payload"]["workflowId"] == "wf-1"
        assert message["payload"]["nodeId"] == "n1"
        assert isinstance(message["timestamp"], int)

    with_hub(test)


# -- coalescing and flow control -------------------------------------------------------------


def test_node_events_are_coalesced_and_workflow_events_kept_in_order():
    """1,000 node events in ~100 ms: a few node messages per run, every workflow event."""

    async def main() -> None:
        bus = EventBus()
        service = FakeService()
        hub = EventHub(
            bus, runs=service, workflows=service, coalesce_seconds=WINDOW, max_queue=1000
        )
        await hub.start()
        try:
            _, socket = await connect(hub, caller("alice"), "executions")
            runs = ("run-a", "run-b")
            for run in runs:
                bus.publish(event("workflow:started", run, "alice"))
            for burst in range(10):  # 10 bursts of 100 over ~100 ms
                for i in range(50):
                    for run in runs:
                        bus.publish(event("node:completed", run, "alice", n=burst * 50 + i))
                await asyncio.sleep(0.01)
            for run in runs:
                bus.publish(event("workflow:completed", run, "alice"))
            await settle()
        finally:
            await hub.stop()
        for run in runs:
            mine = [m for m in socket.events() if m["payload"]["executionId"] == run]
            kinds = [m["type"] for m in mine]
            assert kinds[0] == "workflow:started"
            assert kinds[-1] == "workflow:completed"
            nodes = [m for m in mine if m["type"].startswith("node:")]
            # ~100 ms of events span 2-3 windows of 50 ms (4 if the clock is unkind)
            assert 1 <= len(nodes) <= 4, len(nodes)
            assert nodes[-1]["payload"]["n"] == 499  # the latest node event is never lost
            numbers = [m["payload"]["n"] for m in nodes]
            assert numbers == sorted(numbers)

    asyncio.run(main())


def test_a_workflow_event_closes_the_node_slot_of_its_run():
    """node A, node B, workflow:failed, node C in one window → B, failed, C (in that order)."""

    async def test(bus, service, hub):
        _, socket = await connect(hub, caller("alice"), "executions")
        bus.publish(event("node:started", "run-1", "alice", n="A"))
        bus.publish(event("node:completed", "run-1", "alice", n="B"))
        bus.publish(event("workflow:failed", "run-1", "alice"))
        bus.publish(event("node:completed", "run-1", "alice", n="C"))
        await settle()
        assert [(m["type"], m["payload"].get("n")) for m in socket.events()] == [
            ("node:completed", "B"),
            ("workflow:failed", None),
            ("node:completed", "C"),
        ]

    with_hub(test)


def test_workflow_events_are_never_coalesced():
    async def test(bus, service, hub):
        _, socket = await connect(hub, caller("alice"), "executions")
        for i in range(30):
            bus.publish(event("workflow:started", f"run-{i}", "alice"))
        await settle()
        assert len(socket.events()) == 30

    with_hub(test)


def test_a_stalled_client_is_closed_with_1013_and_forgotten():
    async def test(bus, service, hub):
        slow_client, slow = await connect(hub, caller("alice"), "executions", stalled=True)
        _, fast = await connect(hub, caller("alice"), "executions")
        for round_ in range(6):  # 60 runs' events while the slow socket takes nothing
            for i in range(10):
                bus.publish(event("workflow:started", f"run-{round_}-{i}", "alice"))
            await settle()
        assert slow.closed_with is not None
        assert slow.closed_with[0] == CLOSE_TRY_AGAIN_LATER
        assert slow_client not in hub.clients
        assert slow_client.queued == 0  # its buffers are released
        assert len(fast.events()) == 60
        assert fast.closed_with is None

    with_hub(test)


def test_a_flood_within_one_window_is_bounded_too():
    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"), "executions")
        for i in range(51):  # max_queue is 50: the 51st distinct message is one too many
            bus.publish(event("workflow:started", f"run-{i}", "alice"))
        assert socket.closed_with == (CLOSE_TRY_AGAIN_LATER, "too many undelivered events")
        assert client not in hub.clients

    with_hub(test)


def test_a_socket_that_fails_is_forgotten():
    async def test(bus, service, hub):
        client, socket = await connect(hub, caller("alice"), "executions")
        socket.closed_with = (1006, "gone")  # the peer vanished: sends raise
        bus.publish(event("workflow:started", "run-1", "alice"))
        await settle()
        assert client not in hub.clients

    with_hub(test)


def test_disconnect_and_stop_leave_nothing_behind():
    async def main() -> None:
        bus = EventBus()
        service = FakeService()
        hub = EventHub(bus, runs=service, workflows=service, coalesce_seconds=WINDOW)
        await hub.start()
        client, _ = await connect(hub, caller("alice"), "executions")
        other, other_socket = await connect(hub, caller("bob"), "executions")
        hub.disconnect(client)
        hub.disconnect(client)  # idempotent
        bus.publish(event("workflow:started", "run-1", "alice"))
        await hub.stop()
        assert not bus  # the hub's listener is gone
        assert hub.clients == frozenset()
        assert other_socket.closed_with is not None and other_socket.closed_with[0] == 1001
        assert isinstance(other, EventClient) and other.closed
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert tasks == []

    asyncio.run(main())


def test_events_published_off_the_loop_thread_are_delivered():
    async def test(bus, service, hub):
        _, socket = await connect(hub, caller("alice"), "executions")
        await asyncio.to_thread(bus.publish, event("workflow:started", "run-1", "alice"))
        await settle()
        assert [m["type"] for m in socket.events()] == ["workflow:started"]

    with_hub(test)


def test_no_redis_import_without_a_redis_url():
    code = (
        "import asyncio, sys\n"
        "from workscript_jupyter.engine import EventBus\n"
        "from workscript_jupyter.server.websocket import EventHub, EventSocketHandler\n"
        "async def main():\n"
        "    hub = EventHub(EventBus(), runs=object(), workflows=object())\n"
        "    await hub.start(); await hub.stop()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
