"""Users' own servers on the hub (issue 19): the client role, schedules kept by the service, and
notebook steps run in their owner's server.

- alice's server runs the extension in its client role: it forwards ``/workscript/*`` to the
  service with her token, and holds no database connection, no SQLite file and no scheduler;
- from a kernel of her server, the ``%%workflow --schedule`` magic saves and schedules a
  workflow every 2 s; with her server stopped, the service fires it once per tick;
- a notebook step of alice runs in her named server ``workscript`` (the service starts it through
  the hub): it reads a file of her home folder and a variable her spawner set; bob's notebook of
  the same name runs in his server, with his.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from .harness import SPAWNER_VARIABLE, UNSPAWNABLE, Hub, assert_each_tick_fired_once, http

pytestmark = pytest.mark.mysql

SERVER_READY_SECONDS = 90.0
TICK_SECONDS = 2


def hub_api(hub: Hub, method: str, path: str, body: Any = None) -> Any:
    return http(method, f"{hub.url}/hub/api{path}", token=hub.admin_token, body=body)


def server_model(hub: Hub, user: str, name: str = "") -> dict[str, Any] | None:
    reply = hub_api(hub, "GET", f"/users/{user}")
    assert reply.code == 200, reply.body
    return (reply.body.get("servers") or {}).get(name)


def start_server(hub: Hub, user: str, name: str = "") -> dict[str, Any]:
    path = f"/users/{user}/servers/{name}" if name else f"/users/{user}/server"
    started = hub_api(hub, "POST", path)
    assert started.code in (201, 202, 400), (started.code, started.body, hub.log_tail())
    deadline = time.monotonic() + SERVER_READY_SECONDS
    while time.monotonic() < deadline:
        model = server_model(hub, user, name)
        if model is not None and model.get("ready"):
            return model
        time.sleep(0.25)
    raise AssertionError(f"{user}'s server {name!r} not ready:\n{hub.log_tail()}")


def stop_server(hub: Hub, user: str, name: str = "") -> None:
    path = f"/users/{user}/servers/{name}" if name else f"/users/{user}/server"
    stopped = hub_api(hub, "DELETE", path)
    assert stopped.code in (202, 204), (stopped.code, stopped.body)
    deadline = time.monotonic() + SERVER_READY_SECONDS
    while time.monotonic() < deadline:
        if server_model(hub, user, name) is None:
            return
        time.sleep(0.25)
    raise AssertionError(f"{user}'s server {name!r} did not stop")


@pytest.fixture(scope="module")
def alices_server(hub: Hub) -> dict[str, Any]:
    return start_server(hub, "alice")


def on_service(hub: Hub, user: str, method: str, path: str, body: Any = None) -> Any:
    """``/workscript/<path>`` on the service, through the proxy, with ``user``'s hub token."""
    url = f"{hub.service_url}/workscript/{path}"
    return http(method, url, token=hub.tokens[user], body=body, timeout=200)


def in_server(hub: Hub, user: str, path: str) -> str:
    return f"{hub.url}/user/{user}/{path}"


def python_in_kernel(hub: Hub, user: str, code: str, state: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` in a kernel of the user's default server (its client role's python step)."""
    reply = http(
        "POST",
        in_server(hub, user, "workscript/client/python-runs"),
        token=hub.tokens[user],
        body={"runKey": f"test-{uuid.uuid4().hex}", "code": code, "state": state},
        timeout=120,
    )
    assert reply.code == 200, (reply.code, reply.body)
    return reply.body["state"]


def test_a_user_server_forwards_to_the_service_with_the_users_token(
    hub: Hub, alices_server: dict[str, Any]
) -> None:
    name = f"fwd-{uuid.uuid4().hex[:6]}"
    created = http(
        "POST",
        in_server(hub, "alice", "workscript/workflows"),
        token=hub.tokens["alice"],
        body={
            "definition": {"id": name, "name": name, "version": "1.0.0", "workflow": [{"$.n": 1}]}
        },
    )
    assert created.code == 201, (created.code, created.body, hub.log_tail())
    location = {k.lower(): v for k, v in created.headers.items()}.get("location", "")
    assert location.startswith("/user/alice/workscript/workflows/"), created.headers
    # it is in the service, as alice's: she sees it there, bob does not
    mine = on_service(hub, "alice", "GET", "workflows")
    assert created.body["id"] in {item["id"] for item in mine.body["items"]}
    theirs = on_service(hub, "bob", "GET", "workflows")
    assert created.body["id"] not in {item["id"] for item in theirs.body["items"]}
    # bob's token does not open alice's server, so it cannot reach the service through it
    refused = http("GET", in_server(hub, "alice", "workscript/workflows"), token=hub.tokens["bob"])
    assert refused.code in (403, 404), refused.code


def test_the_panels_websocket_goes_through_the_users_server_to_the_service(
    hub: Hub, alices_server: dict[str, Any]
) -> None:
    """``/user/alice/workscript/ws`` (what the Lab panel opens) is a WebSocket to the service
    with her token: her run's events arrive through it."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    socket_url = in_server(hub, "alice", "workscript/ws").replace("http", "ws", 1)
    definition = {"id": f"ws-{uuid.uuid4().hex[:6]}", "name": "ws", "version": "1.0.0"}
    definition["workflow"] = [{"$.n": 1}]

    async def scenario() -> list[str]:
        request = HTTPRequest(socket_url, headers={"Authorization": f"token {hub.tokens['alice']}"})
        socket = await websocket_connect(request)
        await socket.write_message(json.dumps({"type": "subscribe", "channel": "executions"}))
        kinds: list[str] = []
        while "subscribed" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(socket.read_message(), 10))["type"])
        run = await asyncio.to_thread(
            http,
            "POST",
            in_server(hub, "alice", "workscript/workflows/run"),
            token=hub.tokens["alice"],
            body={"definition": definition},
        )
        assert run.code in (200, 202), run.body
        while kinds[-1] != "workflow:completed":
            raw = await asyncio.wait_for(socket.read_message(), 20)
            assert raw is not None, kinds
            kinds.append(json.loads(raw)["type"])
        socket.close()
        return kinds

    kinds = asyncio.run(scenario())
    assert "workflow:started" in kinds or "node:completed" in kinds, kinds


def test_a_user_server_holds_no_database_and_no_scheduler(
    hub: Hub, alices_server: dict[str, Any]
) -> None:
    state = hub_api(hub, "GET", "/users/alice").body["servers"][""].get("state") or {}
    pid = int(state["pid"])
    process = psutil.Process(pid)
    ports = {conn.raddr.port for conn in process.net_connections() if conn.raddr}
    assert 3306 not in ports and 6379 not in ports, ports  # no MariaDB, no Redis
    files = [Path(item.path).name for item in process.open_files()]
    assert not [name for name in files if "sqlite" in name], files
    assert not list((hub.home / "alice").rglob("workscript.sqlite*"))
    # and it says so: the health it forwards is the service's, not a scheduler of its own
    health = http("GET", in_server(hub, "alice", "workscript/health"), token=hub.tokens["alice"])
    assert health.code == 200, health.body
    assert health.body.get("role") in (None, "service"), health.body


def test_a_schedule_from_a_notebook_fires_once_per_tick_with_the_server_stopped(
    hub: Hub, alices_server: dict[str, Any]
) -> None:
    flow_id = f"every-two-{uuid.uuid4().hex[:6]}"
    document = {"id": flow_id, "name": flow_id, "version": "1.0.0", "workflow": [{"$.n": 1}]}
    code = (
        "ip = get_ipython()\n"
        "ip.run_line_magic('load_ext', 'workscript_jupyter')\n"
        f"ip.run_cell_magic('workflow', '--schedule \"*/{TICK_SECONDS} * * * * *\"', "
        f"{json.dumps(json.dumps(document))})\n"
        "state['done'] = True\n"
    )
    assert python_in_kernel(hub, "alice", code, {})["done"] is True
    listed = on_service(hub, "alice", "GET", "automations")
    assert listed.code == 200, listed.body
    [automation] = [a for a in listed.body["items"] if a["name"].startswith(flow_id)]
    stop_server(hub, "alice")
    time.sleep(4 * TICK_SECONDS + 1)
    disabled = on_service(
        hub, "alice", "PUT", f"automations/{automation['id']}", {"enabled": False}
    )
    assert disabled.code == 200, disabled.body
    fires = on_service(hub, "alice", "GET", f"automations/{automation['id']}/fires?limit=100")
    assert fires.code == 200, fires.body
    ticks = assert_each_tick_fired_once(fires.body["items"], TICK_SECONDS)
    assert len(ticks) >= 4, fires.body
    # runs without python steps cost the hub nothing: the service never asked about her server
    assert "GET /hub/api/users/alice (workscript@" not in hub.log_path.read_text()
    # bob sees none of it
    seen = on_service(hub, "bob", "GET", "automations")
    assert automation["id"] not in {a["id"] for a in seen.body["items"]}
    other = on_service(hub, "bob", "GET", f"automations/{automation['id']}/fires")
    assert other.code == 404, other.code
    # the admin sees everything
    admin = on_service(hub, "ann", "GET", f"automations/{automation['id']}")
    assert admin.code == 200, admin.body


def write_report_notebook(home: Path) -> None:
    """report.ipynb: reads data.txt of its folder and the spawner's variable, as outputs."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import os\n"
            "from workscript_jupyter import output\n"
            "output('data', open('data.txt').read().strip())\n"
            f"output('spawnedFor', os.environ.get({SPAWNER_VARIABLE!r}))\n"
            "output('home', os.path.realpath(os.environ['HOME']))\n"
        )
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    home.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, home / "report.ipynb")


def finished_run(hub: Hub, user: str, started: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    run = started
    while run["status"] not in ("completed", "failed", "cancelled", "timed_out"):
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
        run_id = started.get("executionId") or started["id"]
        reply = on_service(hub, user, "GET", f"executions/{run_id}")
        assert reply.code == 200, reply.body
        run = reply.body
    return run


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_a_notebook_step_runs_in_its_owners_server(hub: Hub, user: str) -> None:
    home = hub.home / user
    write_report_notebook(home)
    (home / "data.txt").write_text(f"{user}'s own data\n")
    definition = {
        "id": f"report-{uuid.uuid4().hex[:6]}",
        "name": "report",
        "version": "1.0.0",
        "workflow": [{"notebook": {"path": "report.ipynb", "timeout": 120}}],
    }
    ran = on_service(hub, user, "POST", "workflows/run", {"definition": definition})
    assert ran.code in (200, 202), (ran.code, ran.body, hub.log_tail())
    run = finished_run(hub, user, ran.body)
    assert run["status"] == "completed", (run, hub.log_tail())
    outputs = run["finalState"]["notebookOutputs"]
    assert outputs["data"] == f"{user}'s own data"
    assert outputs["spawnedFor"] == f"spawned-for-{user}"
    assert outputs["home"] == str(home.resolve())
    # the service started the user's named server `workscript` for it
    model = server_model(hub, user, "workscript")
    assert model is not None and model["ready"], model


def test_a_step_of_a_user_whose_server_cannot_start_fails_the_run_clearly(hub: Hub) -> None:
    definition = {
        "id": f"report-{uuid.uuid4().hex[:6]}",
        "name": "report",
        "version": "1.0.0",
        "workflow": [{"notebook": {"path": "report.ipynb"}}],
    }
    ran = on_service(hub, UNSPAWNABLE, "POST", "workflows/run", {"definition": definition})
    assert ran.code in (200, 202), ran.body
    run = finished_run(hub, UNSPAWNABLE, ran.body)
    assert run["status"] == "failed", run
    message = json.dumps(run["error"])
    assert f"{UNSPAWNABLE}'s server 'workscript'" in message, run["error"]
    assert "could not start" in message or "stopped while starting" in message, run["error"]


def test_an_unstartable_owners_server_is_retried_by_the_automations_policy(hub: Hub) -> None:
    """carol's server never starts: her automation's run fails, and its retry policy runs it
    again, each attempt failing the same clear way (the hub asked each time)."""
    definition = {
        "id": f"retried-{uuid.uuid4().hex[:6]}",
        "name": "retried",
        "version": "1.0.0",
        "workflow": [{"notebook": {"path": "report.ipynb"}}],
    }
    saved = on_service(hub, UNSPAWNABLE, "POST", "workflows", {"definition": definition})
    assert saved.code == 201, saved.body
    made = on_service(
        hub,
        UNSPAWNABLE,
        "POST",
        "automations",
        {
            "workflowId": saved.body["id"],
            "name": "retried",
            "triggerType": "manual",
            "retries": {"count": 2, "delaySeconds": 0.2, "backoff": 1},
        },
    )
    assert made.code == 201, made.body
    started = on_service(hub, UNSPAWNABLE, "POST", f"automations/{made.body['id']}/execute", {})
    assert started.code in (200, 201, 202), started.body
    deadline = time.monotonic() + 60
    while True:
        runs = on_service(
            hub, UNSPAWNABLE, "GET", f"automations/{made.body['id']}/executions?limit=10"
        ).body["items"]
        if len(runs) == 3 and all(run["status"] == "failed" for run in runs):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.5)
    assert sorted(run["attempt"] for run in runs) == [1, 2, 3], runs
    for run in runs:
        whole = on_service(hub, UNSPAWNABLE, "GET", f"executions/{run['id']}").body
        assert whole["error"]["code"] == "OWNER_SERVER_UNAVAILABLE", whole["error"]
