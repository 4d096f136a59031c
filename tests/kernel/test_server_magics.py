"""%%workflow --save/--schedule/--server and %workscript automations against a real server.

The server is a real ``jupyter server`` process (tests/scheduler/servers.py) on a temporary SQLite
database: the magics make blocking HTTP calls, which would deadlock against a server running on
the test's own event loop. It writes its runtime file into a temporary ``JUPYTER_RUNTIME_DIR``,
so discovery through the runtime files is tested on a real one too.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from workscript_jupyter.kernel import RunHandle
from workscript_jupyter.kernel.magics import await_workflow_cells
from workscript_jupyter.kernel.remote import RemoteRunHandle, Schedule
from workscript_jupyter.kernel.server_client import (
    ServerClient,
    ServerError,
    ServerNotFoundError,
    format_server_error,
)

from ..scheduler.servers import TOKEN, Server
from .conftest import BROKEN, html_outputs, widget_in

ENV_KEYS = (
    "WORKSCRIPT_SERVER_URL",
    "WORKSCRIPT_TOKEN",
    "JUPYTERHUB_SERVICE_URL",
    "JUPYTERHUB_API_TOKEN",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("server")
    runtime = base / "runtime"
    (base / "root").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        db = f"sqlite:///{base / 'workscript.sqlite'}"
        started = Server("magics", db, base / "root", base).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def on_server(server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """The kernel points at the test server through the environment."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WORKSCRIPT_SERVER_URL", f"http://127.0.0.1:{server.port}/")
    monkeypatch.setenv("WORKSCRIPT_TOKEN", TOKEN)
    return server


def flow(name: str = "Flow", *steps: Any, flow_id: str | None = None) -> dict[str, Any]:
    """A workflow with an id of its own per test (the server lives for the whole module)."""
    return {
        "id": flow_id or f"flow-{uuid.uuid4().hex[:8]}",
        "name": name,
        "version": "1.0.0",
        "workflow": list(steps) or [{"$.a": 1}, {"$.b": "$.a"}],
    }


def saved_with(server: Server, definition_id: str) -> list[dict[str, Any]]:
    items = server.get("workflows", params={"limit": 200}).json()["items"]
    return [w for w in items if w["definition"]["id"] == definition_id]


def automations_of(server: Server, workflow_id: str) -> list[dict[str, Any]]:
    items = server.get("automations", params={"limit": 200}).json()["items"]
    return [a for a in items if a["workflowId"] == workflow_id]


def texts(captured: Any) -> str:
    return captured.stdout + captured.stderr + "".join(html_outputs(captured.outputs))


def free_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"  # nothing listens there


# -- discovery -------------------------------------------------------------------------------


def test_discovery_takes_the_environment_first(server: Server) -> None:
    url = f"http://127.0.0.1:{server.port}/"
    both = {
        "WORKSCRIPT_SERVER_URL": url,
        "WORKSCRIPT_TOKEN": TOKEN,
        "JUPYTERHUB_SERVICE_URL": free_url(),
        "JUPYTERHUB_API_TOKEN": "hub-token",
    }
    client = ServerClient.discover(environ=both)
    assert (client.base_url, client.source) == (url, "WORKSCRIPT_SERVER_URL")
    assert client.health()["status"] == "ok"
    hub = {"JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{server.port}", "JUPYTERHUB_API_TOKEN": TOKEN}
    client = ServerClient.discover(environ=hub)
    assert client.source.startswith("JupyterHub")
    assert client.base_url == url  # a bind-all address is reached on 127.0.0.1
    assert client.health()["status"] == "ok"  # the hub's token goes as "Authorization: token"
    assert TOKEN not in repr(client)


def _runtime_file(folder: Path, name: str, **info: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"jpserver-{name}.json").write_text(json.dumps(info), encoding="utf-8")


def test_discovery_reads_the_runtime_files(server: Server, tmp_path: Path) -> None:
    runtime, project = tmp_path / "runtime", tmp_path / "project"
    deeper = project / "notebooks"
    deeper.mkdir(parents=True)
    alive = server.process.pid if server.process else os.getpid()
    # the deepest root holding the cwd, but without workscript: passed over
    _runtime_file(runtime, "1", url=free_url(), token="t1", root_dir=str(deeper), pid=os.getpid())
    _runtime_file(
        runtime,
        "2",
        url=f"http://localhost:{server.port}/",
        token=TOKEN,
        root_dir=str(project),
        pid=alive,
    )
    _runtime_file(runtime, "3", url=free_url(), token="t3", root_dir="/elsewhere", pid=alive)
    client = ServerClient.discover(environ={}, cwd=deeper, runtime_dir=str(runtime))
    assert client.base_url == f"http://localhost:{server.port}/"
    assert client.root_dir == project
    assert "runtime file" in client.source
    assert client.health()["status"] == "ok"


def test_discovery_uses_jupyter_runtime_dir(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server's own runtime file, found where JUPYTER_RUNTIME_DIR says."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.root.parent / "runtime"))
    client = ServerClient.discover(environ={}, cwd=server.root)
    assert client.base_url.endswith(f":{server.port}/")
    assert client.root_dir is not None and client.root_dir.resolve() == server.root.resolve()
    assert client.path_on_server(server.root / "sub" / "x.ipynb") == "sub/x.ipynb"


def test_no_server_found_names_what_was_tried(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    _runtime_file(
        runtime, "9", url=free_url(), token=TOKEN, root_dir=str(tmp_path), pid=os.getpid()
    )
    with pytest.raises(ServerNotFoundError) as raised:
        ServerClient.discover(environ={}, cwd=tmp_path, runtime_dir=str(runtime))
    message = raised.value.message
    assert "WORKSCRIPT_SERVER_URL is not set" in message
    assert "JUPYTERHUB_SERVICE_URL is not set" in message
    assert "not reachable" in message
    assert TOKEN not in message
    with pytest.raises(ServerNotFoundError, match="no running Jupyter server"):
        ServerClient.discover(environ={}, cwd=tmp_path, runtime_dir=str(tmp_path / "none"))


def test_a_magic_without_a_server_is_a_usage_error(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match="no workscript server found"):
        shell.run_cell_magic("workflow", "--save -q", json.dumps(flow()))
    with pytest.raises(UsageError, match="no workscript server found"):
        shell.run_line_magic("workscript", "automations")


def test_server_errors_keep_message_and_details(on_server: Server) -> None:
    client = ServerClient.discover()
    with pytest.raises(ServerError) as raised:
        client.request("POST", "automations", json={"name": "x", "triggerType": "sometimes"})
    error = raised.value
    assert (error.status, error.code) == (400, "BAD_REQUEST")
    text = format_server_error(error)
    assert text.startswith("invalid automation")
    assert "\n  triggerType: " in text
    assert TOKEN not in text
    bad = ServerClient(f"http://127.0.0.1:{on_server.port}/", "wrong-token")
    with pytest.raises(ServerError, match="refused the credentials"):
        bad.health()


# -- --save ----------------------------------------------------------------------------------


def test_save_creates_then_updates_and_still_runs_here(shell: Any, on_server: Server) -> None:
    document = flow("Saved flow")
    with capture_output() as first:
        handle = shell.run_cell_magic("workflow", "--save --quiet", json.dumps(document))
    assert isinstance(handle, RunHandle) and handle.status == "completed"
    [record] = saved_with(on_server, document["id"])
    assert f"saved <b>Saved flow</b> on the server as <code>{record['id']}</code>" in texts(first)
    document.update(name="Saved flow v2", version="2.0.0", workflow=[{"$.a": 2}])
    with capture_output() as second:
        shell.run_cell_magic("workflow", "--save -q --state {'who': 'Ada'}", json.dumps(document))
    [updated] = saved_with(on_server, document["id"])
    assert updated["id"] == record["id"], "the same record, no duplicate"
    assert (updated["name"], updated["version"]) == ("Saved flow v2", "2.0.0")
    assert updated["definition"]["workflow"] == [{"$.a": 2}]
    assert updated["definition"]["initialState"] == {"who": "Ada"}, "--state is saved too"
    assert f"updated <b>Saved flow v2</b> on the server as <code>{record['id']}</code>" in texts(
        second
    )


def test_state_that_is_not_json_is_not_saved(shell: Any, on_server: Server) -> None:
    shell.user_ns["thing"] = object()
    document = flow()
    with pytest.raises(UsageError, match="must be JSON"):
        shell.run_cell_magic("workflow", "--save -q --state {'x': thing}", json.dumps(document))
    assert saved_with(on_server, document["id"]) == []


# -- --schedule ------------------------------------------------------------------------------


def test_schedule_creates_then_updates_one_automation(shell: Any, on_server: Server) -> None:
    document = flow("Nightly")
    with capture_output() as first:
        schedule = shell.run_cell_magic(
            "workflow",
            "--schedule '0 3 * * *' --tz Europe/Paris --name nightly",
            json.dumps(document),
        )
    assert isinstance(schedule, Schedule) and shell.user_ns["nightly"] is schedule
    [record] = saved_with(on_server, document["id"])
    [automation] = automations_of(on_server, record["id"])
    assert automation["name"] == "Nightly schedule"
    assert (automation["cron"], automation["timezone"]) == ("0 3 * * *", "Europe/Paris")
    assert automation["enabled"] and automation["nextRunAt"]
    html = schedule._repr_html_()
    assert "created" in html and "Next run: " in html and "did not run it" in html
    assert html.count("<li>") == 5, "the next five runs"
    assert "saved <b>Nightly</b>" in texts(first)
    runs = on_server.get("executions", params={"workflowId": record["id"]}).json()["items"]
    assert runs == [], "--schedule does not run the workflow now"

    on_server.request("PATCH", "automations", automation["id"], "toggle", json={"enabled": False})
    again = shell.run_cell_magic("workflow", '--schedule "*/30 * * * * *"', json.dumps(document))
    [updated] = automations_of(on_server, record["id"])
    assert updated["id"] == automation["id"], "one automation, updated"
    assert (updated["cron"], updated["timezone"]) == ("*/30 * * * * *", "UTC")
    assert updated["enabled"], "scheduling the cell again enables it again"
    assert "updated" in again._repr_html_() and "every 30 seconds" in again._repr_html_()

    document["name"] = "Nightly job"  # renamed: its schedule follows, no second one
    renamed = shell.run_cell_magic("workflow", "--schedule '0 4 * * *'", json.dumps(document))
    [moved] = automations_of(on_server, record["id"])
    assert moved["id"] == automation["id"] and moved["name"] == "Nightly job schedule"
    assert renamed.automation["cron"] == "0 4 * * *"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--schedule 'every day'", "--schedule 'every day': expected 5 or 6 fields, got 2"),
        ("--schedule '0 9 * * *' --tz Mars/Olympus", "--tz Mars/Olympus: "),
        ("--tz Europe/Paris", "--tz ZONE goes with --schedule CRON"),
    ],
)
def test_a_bad_schedule_is_a_usage_error_and_saves_nothing(
    shell: Any, on_server: Server, line: str, message: str
) -> None:
    document = flow()
    with pytest.raises(UsageError) as raised:
        shell.run_cell_magic("workflow", line, json.dumps(document))
    assert message in str(raised.value)
    assert saved_with(on_server, document["id"]) == []


def test_the_transformer_does_not_await_a_schedule(shell: Any) -> None:
    call = "get_ipython().run_cell_magic('workflow', {!r}, '{{}}\\n')"
    only = "--schedule '0 9 * * *'"
    assert shell.transform_cell(f"%%workflow {only}\n{{}}\n") == call.format(only) + "\n"
    both = f"{only} --server"
    assert shell.transform_cell(f"%%workflow {both}\n{{}}\n").startswith("await (")
    assert await_workflow_cells([]) == []


# -- --server --------------------------------------------------------------------------------


def test_server_run_is_followed_by_the_monitor(shell: Any, on_server: Server) -> None:
    document = flow("Remote", {"$.a": 1}, {"wait": {"seconds": 0.3}}, {"$.b": "$.a"})
    with capture_output() as captured:
        handle = shell.run_cell_magic("workflow", "--server --name remote", json.dumps(document))
    assert isinstance(handle, RemoteRunHandle) and shell.user_ns["remote"] is handle
    assert handle.status == "completed"
    assert handle.events >= 2, "workflow:started and :completed came over the WebSocket"
    execution = handle.result()
    assert execution["status"] == "completed" and execution["trigger"] == "api"
    assert handle.state["b"] == 1
    [record] = saved_with(on_server, document["id"])
    assert execution["workflowId"] == record["id"]
    monitor = widget_in(captured.outputs)
    assert monitor.status == "completed" and "✓ completed" in monitor.header.value
    assert monitor.node_runs == 3
    assert set(monitor.rows) == {"/workflow/0/$.a", "/workflow/1/wait", "/workflow/2/$.b"}
    assert "/workflow/1/wait" in monitor.table.value
    summaries = [h for h in html_outputs(captured.outputs) if "workscript-run-summary" in h]
    assert summaries and "3 node runs" in summaries[-1] and execution["id"] in summaries[-1]


def test_a_waiting_server_cell_runs_on_the_loop(shell: Any, on_server: Server) -> None:
    """Through the input transformer: the follower is a task on the shell's loop."""
    document = flow("Looped", {"$.a": 1}, {"wait": {"seconds": 0.2}})
    with capture_output():
        result = shell.run_cell("%%workflow --server --quiet\n" + json.dumps(document))
    assert result.success, result.error_in_exec
    handle = result.result
    assert isinstance(handle, RemoteRunHandle) and handle.status == "completed"
    assert "workscript-run-summary" in handle._repr_html_()


def test_a_failing_server_run_shows_the_error(shell: Any, on_server: Server) -> None:
    document = {**BROKEN, "id": f"broken-{uuid.uuid4().hex[:8]}"}
    with capture_output() as captured:
        handle = shell.run_cell_magic("workflow", "--server", json.dumps(document))
    assert handle.status == "failed"
    monitor = widget_in(captured.outputs)
    assert monitor.status == "failed"
    assert "/workflow/1/transform" in monitor.error_box.value
    assert handle.state["before"] == "reached" and "after" not in handle.state


def test_fast_runs_never_lose_their_end(shell: Any, on_server: Server) -> None:
    document = flow("Fast", {"$.a": 1})
    for _ in range(5):  # runs of a few milliseconds: subscribed before they start
        with capture_output():
            handle = shell.run_cell_magic("workflow", "--server -q", json.dumps(document))
        assert handle.status == "completed"
        assert handle.result()["nodeRuns"] == 1


def test_following_a_run_that_already_ended(on_server: Server, make_workflow: Any) -> None:
    """No event will ever come: the read after subscribing ends the handle at once."""
    document = flow("Done", {"$.a": 1})
    client = ServerClient.discover()
    record, _ = client.save_workflow(document)
    finished = client.request("POST", f"workflows/{record['id']}/run", params={"wait": 10})
    assert finished["status"] == "completed"
    handle = RemoteRunHandle(
        client, make_workflow(document), record["id"], execution_id=finished["id"]
    ).start()
    assert handle.status == "completed"
    assert handle.events == 0
    assert handle.result()["id"] == finished["id"]
    assert handle.cancel() is False


# -- %workscript automations, and the token ------------------------------------------------


def test_workscript_automations_lists_names_and_next_runs(shell: Any, on_server: Server) -> None:
    document = flow("Listed")
    with capture_output():
        shell.run_cell_magic(
            "workflow", "--schedule '*/30 * * * * *' --tz Asia/Tokyo", json.dumps(document)
        )
    html = shell.run_line_magic("workscript", "automations").data
    assert html.startswith("<table class='workscript-automations'")
    row = next(r for r in html.split("<tr>") if "Listed schedule" in r)
    assert "<code>*/30 * * * * *</code> every 30 seconds (Asia/Tokyo)" in row
    assert "Asia/Tokyo" in row and "✓" in row
    assert " JST (in " in row, "the next run, in the automation's zone"
    server_line = shell.run_line_magic("workscript", "server").data
    assert f":{on_server.port}/" in server_line and "WORKSCRIPT_SERVER_URL" in server_line


def test_no_output_shows_the_token(shell: Any, on_server: Server, magics: Any) -> None:
    document = flow("Secret")
    seen: list[str] = []
    with capture_output() as captured:
        shell.run_cell_magic("workflow", "--save -q", json.dumps(document))
        shell.run_cell_magic("workflow", "--schedule '0 9 * * *'", json.dumps(document))
        handle = shell.run_cell_magic("workflow", "--server", json.dumps(document))
        print(shell.run_line_magic("workscript", "automations").data)
        print(shell.run_line_magic("workscript", "server").data)
        print(repr(handle), repr(handle.client), handle._repr_html_())
    seen.append(texts(captured))
    seen.append(repr(magics.runs))
    for output in captured.outputs:
        seen.append(json.dumps(output.data, default=str))
    assert all(TOKEN not in text for text in seen)


def test_no_wait_returns_a_handle_to_await_later(shell: Any, on_server: Server) -> None:
    document = flow("Later", {"$.a": 1}, {"wait": {"seconds": 0.5}}, {"$.b": "$.a"})

    async def scenario() -> tuple[str, str, dict[str, Any]]:
        with capture_output():
            handle = shell.run_cell_magic("workflow", "--server --no-wait -q", json.dumps(document))
            first = handle.status
            execution = await handle
        return first, execution["status"], handle.state

    first, final, state = asyncio.run(scenario())
    assert first not in ("completed", "failed"), "the cell returned before the run ended"
    assert final == "completed"
    assert state["b"] == 1


def test_an_api_key_reaches_a_server_that_is_not_the_kernels_own(server: Server) -> None:
    """WORKSCRIPT_API_KEY (with WORKSCRIPT_SERVER_URL) is sent as X-API-Key: a script or a
    kernel elsewhere talks to this server with a key that opens /workscript/* only."""
    made = server.post("keys", json={"name": "kernel elsewhere"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    url = f"http://127.0.0.1:{server.port}/"
    env = {"WORKSCRIPT_SERVER_URL": url, "WORKSCRIPT_API_KEY": key, "WORKSCRIPT_TOKEN": "wrong"}
    client = ServerClient.discover(environ=env)
    record, created = client.save_workflow(flow("From a key"))
    assert created and record["name"] == "From a key"
    assert key not in repr(client)
    refused = ServerClient.discover(environ={**env, "WORKSCRIPT_API_KEY": "wks_live_nope"})
    with pytest.raises(ServerError) as raised:
        refused.save_workflow(flow("Refused"))
    assert raised.value.status == 401
    assert "wks_live_nope" not in str(raised.value)
