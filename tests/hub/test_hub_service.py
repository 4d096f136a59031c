"""The Workscript service behind a real JupyterHub (issue 19): hub users reach it through the
proxy with their hub tokens, each sees only their own workflows, the hub's admin group sees
everyone's, a request without a hub identity is refused, and the hub stops the service cleanly.

The hub loads ``jupyter-config/jupyterhub_config.py``, the example a deployment copies."""

from __future__ import annotations

import uuid

import pytest

from .harness import Hub, http

# MariaDB: a database of its own, but GET_LOCK names are the machine's (the services group)
pytestmark = pytest.mark.mysql


def workflow_document(name: str) -> dict[str, object]:
    return {
        "id": f"hub-flow-{uuid.uuid4().hex[:8]}",
        "name": name,
        "version": "1.0.0",
        "workflow": [{"$.greeting": "hello"}],
    }


@pytest.fixture(scope="module")
def alices_workflow(hub: Hub) -> dict[str, object]:
    created = http(
        "POST",
        f"{hub.service_url}/workscript/workflows",
        token=hub.tokens["alice"],
        body={"definition": workflow_document("alice's flow")},
    )
    assert created.code == 201, (created.code, created.body, hub.log_tail())
    return created.body


def listed_ids(hub: Hub, user: str) -> set[str]:
    listed = http("GET", f"{hub.service_url}/workscript/workflows", token=hub.tokens[user])
    assert listed.code == 200, (user, listed.code, listed.body)
    return {item["id"] for item in listed.body["items"]}


def test_alice_creates_and_reads_her_workflow(hub: Hub, alices_workflow) -> None:
    assert alices_workflow["name"] == "alice's flow"
    assert alices_workflow["id"] in listed_ids(hub, "alice")
    read = http(
        "GET",
        f"{hub.service_url}/workscript/workflows/{alices_workflow['id']}",
        token=hub.tokens["alice"],
    )
    assert read.code == 200, read.body


def test_the_service_keeps_it_in_the_shared_database(hub_database: str, alices_workflow) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(hub_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT u.username, w.name FROM workflows w "
                    "JOIN users u ON u.id = w.owner_id WHERE w.id = :id"
                ),
                {"id": alices_workflow["id"]},
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("alice", "alice's flow")]


def test_bob_sees_none_of_alices_workflows(hub: Hub, alices_workflow) -> None:
    assert alices_workflow["id"] not in listed_ids(hub, "bob")
    for method, body in (("GET", None), ("PUT", {"name": "bob was here"}), ("DELETE", None)):
        reply = http(
            method,
            f"{hub.service_url}/workscript/workflows/{alices_workflow['id']}",
            token=hub.tokens["bob"],
            body=body,
        )
        assert reply.code == 404, (method, reply.code, reply.body)


def test_the_admin_group_sees_alices_workflow(hub: Hub, alices_workflow) -> None:
    assert alices_workflow["id"] in listed_ids(hub, "ann")
    read = http(
        "GET",
        f"{hub.service_url}/workscript/workflows/{alices_workflow['id']}",
        token=hub.tokens["ann"],
    )
    assert read.code == 200, read.body
    assert read.body["name"] == "alice's flow"


@pytest.mark.parametrize("credential", ["none", "not a hub token", "no access scope"])
def test_a_request_without_access_to_the_service_is_refused(
    hub: Hub, alices_workflow, credential
) -> None:
    token = {"none": None, "not a hub token": "0" * 32}.get(credential, hub.token_without_access)
    listed = http("GET", f"{hub.service_url}/workscript/workflows", token=token)
    assert listed.code in (302, 401, 403), (listed.code, listed.body)
    created = http(
        "POST",
        f"{hub.service_url}/workscript/workflows",
        token=token,
        body={"definition": workflow_document("anonymous")},
    )
    assert created.code in (302, 401, 403), (created.code, created.body)
    assert listed_ids(hub, "ann") == {alices_workflow["id"]}  # nothing was created


def test_run_events_reach_their_owner_over_the_websocket_and_no_one_else(
    hub: Hub, alices_workflow
) -> None:
    """The WebSocket through the proxy, authenticated by the hub token: alice's run streams its
    events to her; bob, subscribed to the same channel name, receives none of them."""
    import asyncio
    import json

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    socket_url = hub.service_url.replace("http", "ws", 1) + "/workscript/ws"

    async def connect(user: str) -> object:
        request = HTTPRequest(socket_url, headers={"Authorization": f"token {hub.tokens[user]}"})
        socket = await websocket_connect(request)
        await socket.write_message(json.dumps({"type": "subscribe", "channel": "executions"}))
        while True:  # until the subscription is confirmed
            answer = json.loads(await asyncio.wait_for(socket.read_message(), 10))
            if answer["type"] == "subscribed":
                return socket

    async def drain(socket: object, seconds: float) -> list[dict[str, object]]:
        seen: list[dict[str, object]] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(socket.read_message(), left)  # type: ignore[attr-defined]
            except TimeoutError:
                break
            if raw is None:
                break
            seen.append(json.loads(raw))
            if seen[-1]["type"] == "workflow:completed":
                break
        return seen

    async def scenario() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        alice, bob = await connect("alice"), await connect("bob")
        run = await asyncio.to_thread(
            http,
            "POST",
            f"{hub.service_url}/workscript/workflows/{alices_workflow['id']}/run",
            token=hub.tokens["alice"],
            body={},
        )
        assert run.code in (200, 202), run.body
        hers = await drain(alice, 20)
        his = await drain(bob, 1)
        alice.close()  # type: ignore[attr-defined]
        bob.close()  # type: ignore[attr-defined]
        return hers, his

    hers, his = asyncio.run(scenario())
    assert [m["type"] for m in hers][-1] == "workflow:completed", hers
    assert not [m for m in his if str(m["type"]).startswith(("workflow:", "node:"))], his


# last: it stops the hub the other tests use
def test_stopping_the_hub_stops_the_service_cleanly(hub: Hub) -> None:
    """Last in the module: it stops the hub. The hub stops its service with SIGINT; the service
    must run its cleanup (the extension's stop, then Jupyter removes its runtime file), not die
    of a KeyboardInterrupt that skips it."""
    runtime_file = hub.runtime_dir / f"jpserver-{hub.service_pid}.json"
    assert runtime_file.exists()
    hub.stop()
    assert not runtime_file.exists(), hub.log_tail()
