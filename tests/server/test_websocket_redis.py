"""Run events across servers: two EventHubs with different origins on one Redis."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from workscript_jupyter.engine import EventBus

from .test_websocket import FakeService, FakeSocket, caller, connect, event, settle

pytestmark = pytest.mark.redis


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


def run_with_two_hubs(redis_url: str, test, *, channel_b: str | None = None) -> None:
    """Two hubs on one Redis; a channel of this test's own, so that no other test's events
    (another pytest worker, another deployment) can reach it."""
    import uuid

    from workscript_jupyter.server.events_hub import EventHub

    channel = f"workscript:events:test-{uuid.uuid4().hex}"

    async def main() -> None:
        bus_a, bus_b = EventBus(), EventBus()
        reader_a, reader_b = FakeService(), FakeService()
        hub_a = EventHub(
            bus_a,
            runs=reader_a,
            workflows=reader_a,
            redis_url=redis_url,
            redis_channel=channel,
            server_id="server-a",
        )
        hub_b = EventHub(
            bus_b,
            runs=reader_b,
            workflows=reader_b,
            redis_url=redis_url,
            redis_channel=channel_b or channel,
            server_id="server-b",
        )
        await hub_a.start()
        await hub_b.start()
        try:
            await test(bus_a, hub_a, bus_b, hub_b)
        finally:
            await hub_a.stop()
            await hub_b.stop()
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())


def test_an_event_on_hub_a_reaches_a_client_of_hub_b(redis_url):
    async def test(bus_a, hub_a, bus_b, hub_b):
        _, on_a = await connect(hub_a, caller("alice"), "executions")
        _, on_b = await connect(hub_b, caller("alice"), "executions")
        _, bob_on_b = await connect(hub_b, caller("bob"), "executions")
        bus_a.publish(event("workflow:started", "run-1", "alice", "wf-1"))
        bus_a.publish(event("node:completed", "run-1", "alice", "wf-1", nodeId="n1"))
        bus_a.publish(event("workflow:completed", "run-1", "alice", "wf-1"))
        await until(lambda: len(on_b.events()) == 3)
        await settle()
        assert [m["type"] for m in on_b.events()] == [
            "workflow:started",
            "node:completed",
            "workflow:completed",
        ]
        assert on_b.events()[1]["payload"]["nodeId"] == "n1"
        assert on_b.events()[0]["payload"]["executionId"] == "run-1"
        # hub A delivered its own events once: its echo from Redis is ignored
        assert [m["type"] for m in on_a.events()] == [
            "workflow:started",
            "node:completed",
            "workflow:completed",
        ]
        assert bob_on_b.events() == []  # the owner filter holds across servers

    run_with_two_hubs(redis_url, test)


def test_the_redis_message_carries_owner_and_origin(redis_url):
    import redis.asyncio as aioredis

    async def test(bus_a, hub_a, bus_b, hub_b):
        client = aioredis.from_url(redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(hub_a.redis_channel)
        try:
            bus_a.publish(event("workflow:started", "run-7", "alice", "wf-7"))
            message = None
            deadline = time.monotonic() + 5
            while message is None and time.monotonic() < deadline:
                message = await pubsub.get_message(timeout=0.5)
            assert message is not None
            data = json.loads(message["data"])
            assert data["origin"] == "server-a"
            assert data["ownerId"] == "alice"
            assert data["type"] == "workflow:started"
            assert data["payload"]["executionId"] == "run-7"
            assert data["payload"]["workflowId"] == "wf-7"
            assert isinstance(data["timestamp"], int)
        finally:
            await pubsub.aclose()
            await client.aclose()

    run_with_two_hubs(redis_url, test)


def test_a_malformed_redis_message_is_ignored(redis_url):
    import redis.asyncio as aioredis

    async def test(bus_a, hub_a, bus_b, hub_b):
        _, on_b = await connect(hub_b, caller("alice"), "executions")
        client = aioredis.from_url(redis_url)
        try:
            await client.publish(hub_b.redis_channel, b"\x00 not json")
            await client.publish(hub_b.redis_channel, json.dumps({"type": 1, "payload": "x"}))
        finally:
            await client.aclose()
        bus_a.publish(event("workflow:started", "run-1", "alice"))
        await until(lambda: len(on_b.events()) == 1)
        assert isinstance(on_b, FakeSocket)
        assert on_b.closed_with is None

    run_with_two_hubs(redis_url, test)


def test_an_unreachable_redis_is_logged_without_its_password(caplog):
    """The bridge's warning names the Redis it tried, masked: logs are read by more people."""
    import logging

    from workscript_jupyter.server.events_redis import RedisBridge

    async def test():
        bridge = RedisBridge("redis://:s3cret-pass@127.0.0.1:1/0", "server-a", lambda *_: None)
        with caplog.at_level(logging.WARNING, logger="workscript_jupyter.server.events_redis"):
            await bridge.start()
            await bridge.stop()

    asyncio.run(test())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "127.0.0.1:1" in logged and "unavailable" in logged
    assert "s3cret-pass" not in logged


def test_servers_of_another_database_never_hear_these_events(redis_url):
    """Two deployments on one Redis: each database has its own channel (channel_for)."""
    from workscript_jupyter.server.events_redis import channel_for

    sqlite_a = channel_for("sqlite:////srv/a/workscript.sqlite")
    assert sqlite_a != channel_for("sqlite:////srv/b/workscript.sqlite")
    assert channel_for("mysql+pymysql://u:one@db/ws") == channel_for("mysql+pymysql://u:two@db/ws")

    async def test(bus_a, hub_a, bus_b, hub_b):
        _, on_b = await connect(hub_b, caller("alice"), "executions")
        bus_a.publish(event("workflow:started", "run-1", "alice", "wf-1"))
        bus_b.publish(event("workflow:completed", "run-2", "alice", "wf-2"))  # b's own
        await until(lambda: len(on_b.events()) >= 1)
        await settle()
        await asyncio.sleep(0.3)  # time for a's event to arrive, were it to come
        assert [m["payload"]["executionId"] for m in on_b.events()] == ["run-2"]

    run_with_two_hubs(redis_url, test, channel_b=channel_for("sqlite:////srv/b/x.sqlite"))
