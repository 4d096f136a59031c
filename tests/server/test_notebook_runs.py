"""notebook and python nodes run by the server: a warm kernel pool, cell progress over the
WebSocket, and no kernel process left once the extension stops."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ..kernel_processes import kernel_processes
from .conftest import Api, document, server_config
from .test_websocket_e2e import Socket

READY = 60.0


@pytest.fixture
def jp_server_config(workscript_db_url):
    return server_config(workscript_db_url, kernel_pool_size=1)


@pytest.fixture
def kernels_before(jp_serverapp, jp_asyncio_loop):
    """The kernel processes alive before the extension started; once it stops, just these."""
    before = kernel_processes()
    yield before
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.stop_all_extensions())
    assert kernel_processes() <= before, "a kernel process outlived the server"


@pytest.fixture
def api(kernels_before, jp_fetch, workscript) -> Api:
    return Api(jp_fetch)


def write_notebook(root: Path, name: str, sources: list[str]) -> str:
    cells = [new_code_cell(sources[0], metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in sources[1:]]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, root / name)
    return name


async def run_to_end(api: Api, *steps: Any) -> dict[str, Any]:
    created = await api.post("workflows", json_body={"definition": document(*steps)})
    assert created.code == 201, created.raw
    started = await api.post("workflows", created.body["id"], "run")
    assert started.code in (200, 202), started.raw
    return await api.wait_for_status(
        started.body["id"], {"completed", "failed", "cancelled", "timed_out"}, timeout=READY
    )


async def pool_settled(workscript: dict[str, Any], size: int = 1) -> set[int]:
    """Once the pool holds ``size`` ready kernels and discarded ones are gone: the live kernels."""
    pool = workscript["kernel_pool"]
    await pool.wait_ready(READY)
    for _ in range(int(READY / 0.05)):
        if not pool._background:
            break
        await asyncio.sleep(0.05)
    return kernel_processes()


async def test_a_notebook_step_streams_cell_progress_and_returns_outputs(
    api, jp_root_dir, jp_ws_fetch, workscript
):
    path = write_notebook(
        jp_root_dir,
        "report.ipynb",
        [
            "n = 1",
            "import time; time.sleep(0.3)",
            "from workscript_jupyter import output; output('double', n * 2)",
        ],
    )
    socket = Socket(await jp_ws_fetch("workscript", "ws"))
    try:
        await socket.subscribe("executions")
        run = await run_to_end(
            api, {"$.n": 21}, {"notebook": {"path": path, "parameters": {"n": "$.n"}}}
        )
        # the run's own events, read after the fact from the socket's buffer
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["type"] != "workflow:completed":
            message = await socket.receive(READY)
            if message["payload"].get("executionId") == run["id"]:
                seen.append(message)
    finally:
        socket.close()
    assert run["status"] == "completed", run.get("error")
    assert run["finalState"]["notebookOutputs"] == {"double": 42}
    progress = [m["payload"] for m in seen if m["type"] == "node:progress"]
    assert progress, [m["type"] for m in seen]
    assert all(p["total"] == 4 and p["unit"] == "cells" for p in progress)  # with the injected cell
    assert all(p["nodeType"] == "notebook" for p in progress)
    done = [p["done"] for p in progress]
    assert done == sorted(done) and done[-1] <= 4


async def test_the_pool_serves_python_steps_and_every_kernel_stops_with_the_server(
    api, kernels_before, jp_serverapp, workscript
):
    warm = await pool_settled(workscript)
    assert len(warm - kernels_before) == 1, "kernel_pool_size = 1: one warm kernel"
    run = await run_to_end(
        api,
        {"python": {"code": "import os\nstate['cwd'] = os.getcwd()\nstate['who'] += '!'"}},
        {"python": {"code": "state['seen'] = 'secret' in dir()\nsecret = 1"}},
        {"python": {"code": "state['kept'] = secret"}},
    )
    assert run["status"] == "completed", run.get("error")
    state = run["finalState"]
    assert state["who"] == "world!"
    assert Path(state["cwd"]) == Path(jp_serverapp.root_dir).resolve()
    assert state["seen"] is False and state["kept"] == 1  # one kernel for the run's steps
    after = await pool_settled(workscript)
    assert len(after - kernels_before) == 1, "the used kernel went, a fresh one took its place"
    assert after != warm, "the warm kernel was handed out, not kept"

    await jp_serverapp.extension_manager.stop_all_extensions()
    assert kernel_processes() <= kernels_before


async def test_a_second_run_gets_a_fresh_kernel(api, workscript):
    await pool_settled(workscript)
    first = await run_to_end(api, {"python": {"code": "leak = 42"}})
    assert first["status"] == "completed", first.get("error")
    await pool_settled(workscript)
    second = await run_to_end(api, {"python": {"code": "state['leaked'] = 'leak' in dir()"}})
    assert second["status"] == "completed", second.get("error")
    assert second["finalState"]["leaked"] is False
