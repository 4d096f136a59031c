"""notebook and python nodes on real kernels, through RunnerGateway; no kernel left behind."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from workscript_jupyter.engine import (
    NodeContext,
    NodeRegistry,
    RunResult,
    Services,
    load_workflow,
    run_workflow,
)
from workscript_jupyter.nodes.notebook import NotebookNode, PythonNode
from workscript_jupyter.runner import KernelPool, RunnerGateway

from ..kernel_processes import kernel_processes


@pytest.fixture
def root(tmp_path: Path):
    before = kernel_processes()
    yield tmp_path
    assert kernel_processes() == before, "a kernel process survived the run"


def write_notebook(root: Path, name: str, sources: list[str]) -> str:
    cells = [new_code_cell(sources[0], metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(src) for src in sources[1:]]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return name


def run(
    registry: NodeRegistry,
    root: Path,
    steps: list[Any],
    state: dict[str, Any] | None = None,
    pool: KernelPool | None = None,
    on_event: Any = None,
) -> RunResult:
    document = {"id": "nb", "name": "nb", "version": "1.0.0", "workflow": steps}
    workflow = load_workflow(document, registry)
    services = Services(root_dir=root, notebooks=RunnerGateway(root, pool))
    return asyncio.run(
        run_workflow(workflow, registry, state, services=services, on_event=on_event)
    )


def test_each_executed_cell_is_a_progress_event(registry, root):
    path = write_notebook(root, "p.ipynb", ["x = 1", "y = x + 1", "1 / 0"])
    events: list[Any] = []
    result = run(registry, root, [{"notebook": {"path": path}}], on_event=events.append)
    assert result.status == "completed"  # the error edge is unhandled: a warning, not a failure
    progress = [e.payload for e in events if e.type == "node:progress"]
    # the parameters cell, the injected cell (empty parameters), then the two others
    assert [(p["done"], p["total"], p["cellStatus"]) for p in progress] == [
        (1, 4, "completed"),
        (2, 4, "completed"),
        (3, 4, "completed"),
        (3, 4, "failed"),
    ]
    assert [p["cellIndex"] for p in progress] == [0, 1, 2, 3]
    assert all(p["nodeType"] == "notebook" and p["unit"] == "cells" for p in progress)
    assert all(e.execution_id == result.execution_id for e in events)
    # progress comes between the node's start and its end
    kinds = [e.type for e in events]
    assert kinds.index("node:started") < kinds.index("node:progress")
    end = next(i for i, k in enumerate(kinds) if k in ("node:completed", "node:failed"))
    assert max(i for i, k in enumerate(kinds) if k == "node:progress") < end


def test_notebook_outputs_land_in_state(registry, root):
    path = write_notebook(
        root,
        "nb/report.ipynb",
        [
            "region = 'south'\nlimit = 1",
            "from workscript_jupyter import output\n"
            "output('region', region)\noutput('rows', list(range(limit)))",
        ],
    )
    steps = [
        {
            "notebook": {
                "path": path,
                "parameters": {"region": "$.region", "limit": 3},
                "success?": {"$.executed": "$._edgeContext.executedPath"},
                "error?": {"$.failed": "$._edgeContext.error"},
            }
        }
    ]
    result = run(registry, root, steps, {"region": "north"})
    assert result.status == "completed", result.error
    state = result.final_state
    assert "failed" not in state, state.get("failed")
    assert state["notebookOutputs"] == {"region": "north", "rows": [0, 1, 2]}
    summary = state["notebookResult"]
    assert summary["status"] == "completed"
    assert summary["cellsDone"] == summary["cellsTotal"] == 3  # with the injected cell
    assert summary["error"] is None
    assert state["executed"] == summary["executedPath"]
    assert (root / state["executed"]).is_file()


def test_failing_notebook_takes_the_error_edge_with_the_cell(registry, root):
    path = write_notebook(root, "bad.ipynb", ["x = 1", "y = x + 1", "raise ValueError('boom')"])
    steps = [
        {
            "notebook": {
                "path": path,
                "error?": {"$.failure": "$._edgeContext"},
            }
        }
    ]
    result = run(registry, root, steps)
    assert result.status == "completed", result.error
    state = result.final_state
    failure = state["failure"]
    assert failure["cellIndex"] == 3  # in the executed copy: after the injected cell
    assert failure["ename"] == "ValueError"
    assert "boom" in failure["error"] and "boom" in failure["traceback"]
    assert failure["sourceHead"] == "raise ValueError('boom')"
    assert state["notebookResult"]["status"] == "failed"
    assert state["notebookResult"]["error"]["kind"] == "cell_error"


def test_missing_notebook_is_an_error_edge(registry, root):
    steps = [{"notebook": {"path": "nope.ipynb", "error?": {"$.err": "$._edgeContext.error"}}}]
    result = run(registry, root, steps)
    assert result.status == "completed", result.error
    assert "nope.ipynb" in result.final_state["err"]


def test_python_steps_share_one_kernel_and_round_trip_state(registry, root):
    steps = [
        {
            "python": {
                "code": "hidden = 41\nstate['total'] = sum(state['values'])\ndel state['drop']",
                "error?": {"$.err1": "$._edgeContext.error"},
            }
        },
        {
            "python": {
                "code": "state['seen'] = sorted(state)\nstate['hidden'] = hidden + 1",
                "error?": {"$.err2": "$._edgeContext.error"},
            }
        },
    ]
    result = run(registry, root, steps, {"values": [1, 2, 3], "drop": "me"})
    assert result.status == "completed", result.error
    state = {k: v for k, v in result.final_state.items() if not k.startswith("_")}
    assert state == {
        "values": [1, 2, 3],
        "total": 6,
        "hidden": 42,
        "seen": ["total", "values"],
    }


def test_python_error_edge_carries_the_traceback(registry, root):
    steps = [
        {"python": {"code": "state['a'] = 1"}},
        {
            "python": {
                "code": "def f():\n    return 1 / 0\nf()",
                "error?": {"$.failure": "$._edgeContext"},
            }
        },
        {
            "python": {
                "code": "state['o'] = object()",
                "error?": {"$.err2": "$._edgeContext.error"},
            }
        },
    ]
    result = run(registry, root, steps)
    assert result.status == "completed", result.error
    state = result.final_state
    assert state["a"] == 1
    failure = state["failure"]
    assert failure["ename"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in failure["error"]
    assert "1 / 0" in failure["traceback"] and "\x1b[" not in failure["traceback"]
    assert "JSON" in state["err2"] and "o" not in state


def test_python_on_a_pool_kernel(registry, root):
    async def go() -> RunResult:
        async with KernelPool(1) as pool:
            document = {
                "id": "p",
                "name": "p",
                "version": "1.0.0",
                "workflow": [{"python": {"code": "import os\nstate['cwd'] = os.getcwd()"}}],
            }
            workflow = load_workflow(document, registry)
            services = Services(root_dir=root, notebooks=RunnerGateway(root, pool))
            return await run_workflow(workflow, registry, services=services)

    result = asyncio.run(go())
    assert result.status == "completed", result.error
    assert Path(result.final_state["cwd"]) == root.resolve()


def test_without_a_gateway_both_nodes_take_the_error_edge():
    for node, params in ((NotebookNode(), {"path": "a.ipynb"}), (PythonNode(), {"code": "1"})):
        ctx = NodeContext(
            {}, node_id="n", node_type="n", node_path="/workflow/0/n", services=Services()
        )
        edge = asyncio.run(node.execute(ctx, params))
        assert edge is not None and edge.name == "error"
        assert edge.data is not None
        assert edge.data["error"] == "notebooks are not available here"
